// Approval timers on the time-skipping test server: reminders, escalation, on-timeout rules.
import { describe, expect, it } from 'vitest';
import { readState } from '../activities/connectors/simulated/state';
import { approveSignal, statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { eventually, pendingRequestId } from './support/scenario';
import { startTimeSkippingServer } from './support/temporal';

// The Java test server has no custom search attributes.
const h = useHarness({ server: startTimeSkippingServer, webhook: true, searchAttributes: false });

async function startContainment(environment: string) {
  const started = await h.contain(environment);
  await pendingRequestId(started.handle, 'isolate');
  return started;
}

describe('approval timers', () => {
  it('sends a reminder while waiting, and a later approval still proceeds', async () => {
    const { id, handle } = await startContainment('gated');
    await h.env.sleep('25m');
    await eventually(() => expect(h.webhook.of('approval-reminder', handle.workflowId)).toHaveLength(1));
    const [reminder] = h.webhook.of('approval-reminder', handle.workflowId);
    expect(reminder).toMatchObject({
      commands: {
        temporal: expect.stringContaining(
          `temporal workflow update execute --workflow-id '${handle.workflowId}' --name decide`,
        ),
        cordon: expect.stringContaining(`cordon approve '${handle.workflowId}' --request isolate-1-`),
      },
      brief: { headline: 'active · isolate waits 0/1 approvals (secops)' },
      link: expect.stringContaining(encodeURIComponent(handle.workflowId)),
    });

    const requestId = (await handle.query(statusQuery)).pendingRequest!.requestId;
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'after the reminder' });
    await eventually(async () => expect((await handle.query(statusQuery)).waitingFor).toBe('verify-window'));
    expect(await readState(h.db, id)).toMatchObject({ status: 'disabled', restricted: true });
  });

  it('escalates at the deadline, then applies each on-timeout rule', async () => {
    const rules = ['hold', 'proceed', 'abort', 'rollback', 'lapse'] as const;
    const runs = Object.fromEntries(
      await Promise.all(rules.map(async (r) => [r, await startContainment(`timeout-${r}`)] as const)),
    );

    await h.env.sleep('61m');
    for (const rule of rules) {
      const { handle } = runs[rule];
      await eventually(() => expect(h.webhook.of('approval-escalated', handle.workflowId)).toHaveLength(1));
      expect((await handle.query(statusQuery)).pendingRequest?.groups).toEqual(['secops', 'leads']);
    }

    await h.env.sleep('61m');
    const state = async (rule: (typeof rules)[number]) => {
      const { id, handle } = runs[rule];
      return { status: await handle.query(statusQuery), identity: await readState(h.db, id) };
    };
    await eventually(async () => {
      expect(await state('hold')).toMatchObject({
        status: { outcome: 'held' },
        identity: { restricted: true, status: 'active' },
      });
      expect(await state('proceed')).toMatchObject({
        status: { outcome: 'contained' },
        identity: { restricted: true, status: 'disabled' },
      });
      expect(await state('abort')).toMatchObject({
        status: { outcome: 'aborted' },
        identity: { restricted: true, status: 'active' },
      });
      expect(await state('rollback')).toMatchObject({
        status: { outcome: 'rolled-back' },
        identity: { restricted: false, status: 'active' },
      });
      // lapse keeps the reversible containment until maxHold (6h) ...
      expect(await state('lapse')).toMatchObject({ status: { outcome: 'active' }, identity: { restricted: true } });
    });
    expect(h.webhook.of('needs-attention', runs.hold.handle.workflowId)).toHaveLength(1);

    // ... then rolls it back.
    await h.env.sleep('5h');
    await eventually(async () =>
      expect(await state('lapse')).toMatchObject({
        status: { outcome: 'rolled-back' },
        identity: { restricted: false, status: 'active' },
      }),
    );
  });
});
