// The kill switch and the destructive-action budget, as cases meet them on the dev server: the
// action activity reads the switch and claims the budget; engaged, a case waits and says so.
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { readKillSwitch, setKillSwitch } from '../src/killSwitch';
import { auditQuery, pauseSignal, resumeSignal } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { containment, pendingRequestId, testPolicyWithBudget, waitForStatus } from './support/scenario';

// A budget of 2 destructive actions per hour.
const h = useHarness({ policyFile: testPolicyWithBudget(2) });
const engage = (reason: string) => setKillSwitch(h.db, h.env.client, { engaged: true, by: 'ciso-1', reason });
const release = (reason: string) => setKillSwitch(h.db, h.env.client, { engaged: false, by: 'ciso-1', reason });

describe('the kill switch', () => {
  it('engaged mid-run: no new action starts until it is released, and the release wakes the held cases', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    expect((await engage('automation misbehaving')).engaged).toBe(true);
    expect((await readKillSwitch(h.db.query)).engaged).toBe(true);
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    const fresh = await h.contain('auto');
    await waitForStatus(fresh.handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    expect(await listActions(h.db, fresh.id)).toEqual([]);

    const released = await release('fixed');
    expect(released.woken).toBeGreaterThanOrEqual(2);
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    const events = (await handle.query(auditQuery)).map((e) => e.event);
    expect(events.filter((e) => e === 'kill-switch.blocked')).toHaveLength(1);
    // Both moves are in the switch's own chain, naming who made them.
    const moves = await h.db.query<{ entry: { event: string; actor: string; reason?: string } }>(
      "SELECT entry FROM audit_entries WHERE workflow_id = 'cordon:kill-switch' ORDER BY seq",
    );
    expect(moves.rows.map((r) => [r.entry.event, r.entry.actor, r.entry.reason])).toEqual([
      ['kill-switch.engaged', 'ciso-1', 'automation misbehaving'],
      ['kill-switch.released', 'ciso-1', 'fixed'],
    ]);
  });

  it('over budget: an action the policy would auto-run needs approval', async () => {
    // The first test spent the budget of 2: its isolate, and the auto run's revoke.
    await waitForStatus(containment(h.env.client, h.inventory.last('auto')), (s) =>
      expect(s.pendingRequest?.stage).toBe('rotate'),
    );
    expect(
      (await h.db.query<{ stage: string }>('SELECT stage FROM budget_grants ORDER BY stage')).rows.map((r) => r.stage),
    ).toEqual(['isolate', 'revoke']);
    const over = await h.contain('auto');
    const requestId = await pendingRequestId(over.handle, 'revoke');
    expect(await listActions(h.db, over.id)).toEqual(['restrict']);
    expect((await over.handle.query(auditQuery)).some((e) => e.event === 'budget.exceeded')).toBe(true);

    await over.handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'bob' }] });
    await waitForStatus(over.handle, (s) => expect(s.applied.map((a) => a.action)).toContain('revoke'));
    await waitForStatus(over.handle, (s) => expect(s.pendingRequest?.stage).toBe('rotate'));
  });

  it('engaged during a pause: after the resume the approved action still waits for the release', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    await handle.signal(pauseSignal, { by: 'alice' });
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('resume'));

    await engage('engaged during a pause');
    await handle.signal(resumeSignal, { by: 'alice' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    await release('fixed');
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    // An attempt the switch held claimed nothing: the budget was spent once.
    expect(
      (await h.db.query('SELECT 1 FROM budget_grants WHERE workflow_id = $1', [handle.workflowId])).rows,
    ).toHaveLength(1);
  });
});
