// A new case reads the kill switch and the identity while its context loads (openingReads.ts).
// Those readings serve only a first action taken at once: after an approval, a pause or (for the
// switch) two seconds, they are read again, so a switch engaged meanwhile still holds the action
// (invariant 5). The time-skipping server lets a test move workflow time on.
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { setKillSwitch } from '../src/client/governor';
import { pauseSignal, resumeSignal } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { containment, eventually, pendingRequestId, waitForStatus } from './support/scenario';
import { startTimeSkippingServer } from './support/temporal';

// Holds a case's context load until the test lets it go, by workflow id.
const held = new Map<string, Promise<void>>();
const holdContextLoads: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    const info = Context.current().info;
    if (info.activityType === 'loadContainmentContext') await held.get(info.workflowExecution?.workflowId ?? '');
    return next(input);
  },
};
const h = useHarness({ server: startTimeSkippingServer, searchAttributes: false, interceptors: { activity: [() => ({ inbound: holdContextLoads })] } });

const engage = (engaged: boolean) => setKillSwitch(h.env.client, h.taskQueue, engaged, { by: 'ciso-1', reason: engaged ? 'opening reads test' : 'done' });

// The activities a case scheduled, in order, each with the workflow task that scheduled it.
async function scheduled(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    return a ? [{ name: a.activityType!.name!, task: Number(a.workflowTaskCompletedEventId) }] : [];
  });
}
const before = (list: { name: string }[], name: string) => list.slice(0, list.findIndex((a) => a.name === name));
const completedCount = async (handle: WorkflowHandle, name: string) => {
  const events = (await handle.fetchHistory()).events ?? [];
  const ids = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).map((e) => Number(e.eventId)));
  return events.filter((e) => ids.has(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1))).length;
};

// A case whose context load is held: its opening reads run, and the test decides when it plans.
async function containHeld(environment: string) {
  let release!: () => void;
  const id = h.inventory.add(environment);
  held.set(containment(h.env.client, id).workflowId, new Promise<void>((r) => (release = r)));
  await h.send(h.alertFor(id));
  const handle = containment(h.env.client, id);
  await eventually(async () => expect(await completedCount(handle, 'readKillSwitch')).toBe(1));
  return { id, handle, release };
}

describe('opening reads', () => {
  it('go out with the context load, and the first action uses them: one round of reads before it', async () => {
    const { id, handle } = await h.contain('auto');
    await eventually(async () => expect(await listActions(h.db, id)).toContain('restrict'));
    const activities = await scheduled(handle);
    const first = activities.find((a) => a.name === 'loadContainmentContext')!;
    const opening = activities.filter((a) => a.task === first.task).map((a) => a.name);
    expect(opening).toEqual(expect.arrayContaining(['loadContainmentContext', 'readKillSwitch', 'snapshotIdentity']));
    const reads = before(activities, 'restrictIdentity').map((a) => a.name).filter((n) => n === 'readKillSwitch' || n === 'snapshotIdentity');
    expect(reads.sort()).toEqual(['readKillSwitch', 'snapshotIdentity']);
  });

  it('an approval in between: the switch is read again, and engaged meanwhile it holds the action', async () => {
    const { id, handle } = await h.contain('two-of-n');
    const requestId = await pendingRequestId(handle, 'restrict');
    await engage(true);
    for (const approver of ['alice', 'bob']) await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual([]);
    await engage(false);
    await eventually(async () => expect(await listActions(h.db, id)).toEqual(['restrict']));
  });

  it('a pause in between: the switch is read again after the resume', async () => {
    const { id, handle, release } = await containHeld('auto');
    await handle.signal(pauseSignal, { by: 'oncall-1' });
    await waitForStatus(handle, (s) => expect(s.paused).toBe(true));
    await engage(true);
    release();
    await waitForStatus(handle, (s) => expect(s.stage).toBe('restrict'));
    await handle.signal(resumeSignal, { by: 'oncall-1' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual([]);
    await engage(false);
    await eventually(async () => expect(await listActions(h.db, id)).toContain('restrict'));
  });

  it('a switch reading older than two seconds when the action is due is read again; the snapshot still serves', async () => {
    const { id, handle, release } = await containHeld('auto');
    await engage(true);
    await h.env.sleep('3s');
    release();
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual([]);
    await engage(false);
    await eventually(async () => expect(await listActions(h.db, id)).toContain('restrict'));
    const activities = await scheduled(handle);
    expect(activities.filter((a) => a.name === 'readKillSwitch').length).toBeGreaterThanOrEqual(2);
    expect(before(activities, 'restrictIdentity').filter((a) => a.name === 'snapshotIdentity')).toHaveLength(1);
  });
});
