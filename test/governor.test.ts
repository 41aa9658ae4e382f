// The governor on the dev server: kill switch and destructive-action budget.
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { governorStatus, setKillSwitch } from '../src/client/governor';
import { auditQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { containment, pendingRequestId, testPolicyWithBudget, waitForStatus } from './support/scenario';

// A budget of 2 destructive actions per hour.
const h = useHarness({ policyFile: testPolicyWithBudget(2) });
const contain = (environment: string) => h.contain(environment);

describe('the governor', () => {
  it('kill switch engaged mid-run: no new action starts until it is released', async () => {
    const { id, handle } = await contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    const engaged = await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'ciso-1', reason: 'automation misbehaving' });
    expect(engaged.engaged).toBe(true);
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    const fresh = await contain('auto');
    await waitForStatus(fresh.handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    expect(await listActions(h.db, fresh.id)).toEqual([]);
    expect((await governorStatus(h.env.client)).waiting).toEqual(expect.arrayContaining([handle.workflowId, fresh.handle.workflowId]));

    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-1', reason: 'fixed' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    expect((await handle.query(auditQuery)).some((e) => e.event === 'governor.blocked')).toBe(true);
  });

  it('over budget: an action the policy would auto-run needs approval', async () => {
    // The first test spent the budget of 2: its isolate, and the auto run's revoke.
    await waitForStatus(containment(h.env.client, h.inventory.last('auto')), (s) => expect(s.pendingRequest?.stage).toBe('rotate'));
    expect((await governorStatus(h.env.client)).granted.map((g) => g.stage)).toEqual(['isolate', 'revoke']);
    const over = await contain('auto');
    const requestId = await pendingRequestId(over.handle, 'revoke');
    expect(await listActions(h.db, over.id)).toEqual(['restrict']);
    expect((await over.handle.query(auditQuery)).some((e) => e.event === 'governor.over-budget')).toBe(true);

    await over.handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'bob' }] });
    await waitForStatus(over.handle, (s) => expect(s.applied.map((a) => a.action)).toContain('revoke'));
  });
});
