// Proceeding on an approval timeout is not an approval: the destructive-action budget still binds.
import { describe, expect, it } from 'vitest';
import { readState } from '../activities/connectors/simulated/state';
import { auditQuery, statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { eventually, pendingRequestId, testPolicyWithBudget } from './support/scenario';
import { startTimeSkippingServer } from './support/temporal';

const h = useHarness({ server: startTimeSkippingServer, policyFile: testPolicyWithBudget(0), searchAttributes: false });

describe('on-timeout proceed with the budget spent', () => {
  it('holds the unapproved destructive step instead of running it', async () => {
    const { id, handle } = await h.contain('timeout-proceed');
    await pendingRequestId(handle, 'isolate');
    await h.env.sleep('3h');
    await eventually(async () => expect((await handle.query(statusQuery)).outcome).toBe('held'));
    expect(await readState(h.db, id)).toMatchObject({ restricted: true, status: 'active' });
    expect((await handle.query(auditQuery)).map((e) => e.event)).toEqual(
      expect.arrayContaining(['approval.timed-out', 'budget.exceeded']),
    );
  });
});
