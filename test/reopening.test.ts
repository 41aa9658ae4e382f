// Late evidence on a case that stopped short of containment, and a case that cannot act saying
// why: what a new user met as "merged, nothing happens" and a silent needs-attention.
import { describe, expect, it } from 'vitest';
import { injectFault, listActions } from '../activities/connectors/simulated/state';
import { ATTENTION } from '../src/temporal/searchAttributes';
import { auditQuery, decideUpdate } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { eventually, pendingRequestId, waitForStatus } from './support/scenario';

const h = useHarness({ webhook: true });

describe('a stronger alert after the case stopped short', () => {
  it('on a rolled-back case starts a new round that acts again under the policy', async () => {
    const id = h.inventory.add('gated');
    await h.send(h.alertFor(id, { severity: 'high', confidence: 0.6 }));
    const handle = h.env.client.workflow.getHandle(`contain:simulated:${id}`);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'deny', requestId: await pendingRequestId(handle, 'isolate'), approver: 'bob' }],
    });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('rolled-back'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'undo:restrict']);

    // The same evidence again is merged and changes nothing; stronger evidence acts.
    await h.send(h.alertFor(id, { severity: 'high', confidence: 0.6 }));
    await waitForStatus(handle, (s) => expect(s.alerts).toHaveLength(2));
    expect((await handle.query(auditQuery)).some((e) => e.event === 'round.started')).toBe(false);
    await h.send(h.alertFor(id, { severity: 'critical', confidence: 0.95 }));
    await pendingRequestId(handle, 'isolate');
    expect(await listActions(h.db, id)).toEqual(['restrict', 'undo:restrict', 'restrict']);
    const round = (await handle.query(auditQuery)).find((e) => e.event === 'round.started');
    expect(round?.reason).toMatch(/stronger evidence after the case was rolled-back/);
  });

  it('on a held case (denied, onDeny hold) asks for the held stage again', async () => {
    const id = h.inventory.add('deny-holds');
    await h.send(h.alertFor(id, { severity: 'medium', confidence: 0.7 }));
    const handle = h.env.client.workflow.getHandle(`contain:simulated:${id}`);
    const first = await pendingRequestId(handle, 'isolate');
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'deny', requestId: first, approver: 'bob' }] });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('held'));

    await h.send(h.alertFor(id, { severity: 'critical', confidence: 0.9 }));
    const second = await pendingRequestId(handle, 'isolate');
    expect(second).not.toBe(first);
    // What holds stays done: restrict is not applied a second time.
    expect(await listActions(h.db, id)).toEqual(['restrict']);
  });
});

describe('a case that cannot act', () => {
  it('says why in status, in its search attributes and in the notification', async () => {
    const id = h.inventory.add('auto');
    await injectFault(h.db, id, 'restrict', 'permanent');
    await h.send(h.alertFor(id));
    const handle = h.env.client.workflow.getHandle(`contain:simulated:${id}`);
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/^restrict failed: /);
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(ATTENTION)).toBe(stuck.attention);
    await eventually(() =>
      expect(h.webhook.of('needs-attention', handle.workflowId).at(-1)).toMatchObject({ reason: stuck.attention }),
    );
  });
});
