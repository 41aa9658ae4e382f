// The governor on the dev server: kill switch and destructive-action budget.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { createGovernorActivities } from '../activities/governor';
import { governorStatus, setKillSwitch } from '../src/client/governor';
import { auditQuery, pauseSignal, resumeSignal } from '../workflows/definitions';
import { cordonGovernor } from '../workflows/governor';
import {
  engageUpdate,
  GOVERNOR_WORKFLOW_ID,
  governorStatusQuery,
  governorTaskQueue,
  releaseUpdate,
  requestPermitSignal,
  type PermitAnswer,
  type PermitDecision,
  type PermitRequest,
} from '../workflows/governorDefinitions';
import { useHarness } from './support/harness';
import { containment, eventually, pendingRequestId, TEST_POLICY, testPolicyWithBudget, waitForStatus } from './support/scenario';
import { startWorker, testLogger } from './support/temporal';

// A budget of 2 destructive actions per hour.
const h = useHarness({ policyFile: testPolicyWithBudget(2) });
const readKillSwitch = () => createGovernorActivities(h.env.client, h.taskQueue, testLogger).readKillSwitch();
const contain = (environment: string) => h.contain(environment);

describe('the governor', () => {
  it('kill switch engaged mid-run: no new action starts until it is released', async () => {
    const { id, handle } = await contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    const engaged = await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'ciso-1', reason: 'automation misbehaving' });
    expect(engaged.engaged).toBe(true);
    expect(await readKillSwitch()).toBe('engaged');
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    const fresh = await contain('auto');
    await waitForStatus(fresh.handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    expect(await listActions(h.db, fresh.id)).toEqual([]);
    expect((await governorStatus(h.env.client)).waiting).toEqual(expect.arrayContaining([handle.workflowId, fresh.handle.workflowId]));

    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-1', reason: 'fixed' });
    expect(await readKillSwitch()).toBe('released');
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    expect((await handle.query(auditQuery)).some((e) => e.event === 'governor.blocked')).toBe(true);
    // Its workflow tasks never queue behind the cases'.
    expect((await h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID).describe()).taskQueue).toBe(governorTaskQueue(h.taskQueue));
  });

  it('over budget: an action the policy would auto-run needs approval', async () => {
    // The first test spent the budget of 2: its isolate, and the auto run's revoke.
    await waitForStatus(containment(h.env.client, h.inventory.last('auto')), (s) => expect(s.pendingRequest?.stage).toBe('rotate'));
    // The budget is counted in the database; the governor lists the grants relayed to it.
    expect((await h.db.query<{ stage: string }>('SELECT stage FROM budget_grants ORDER BY stage')).rows.map((r) => r.stage)).toEqual(['isolate', 'revoke']);
    await eventually(async () => expect((await governorStatus(h.env.client)).granted.map((g) => g.stage).sort()).toEqual(['isolate', 'revoke']));
    const over = await contain('auto');
    const requestId = await pendingRequestId(over.handle, 'revoke');
    expect(await listActions(h.db, over.id)).toEqual(['restrict']);
    expect((await over.handle.query(auditQuery)).some((e) => e.event === 'governor.over-budget')).toBe(true);

    await over.handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'bob' }] });
    await waitForStatus(over.handle, (s) => expect(s.applied.map((a) => a.action)).toContain('revoke'));
    // Its rotate is over budget too. Parked on that approval, the case asks nothing more, so the
    // next test decides alone when a governor starts.
    await waitForStatus(over.handle, (s) => expect(s.pendingRequest?.stage).toBe('rotate'));
  });

  it('a governor that is not running reads as unknown: the case asks, which starts a new one', async () => {
    await h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID).terminate('test: governor gone');
    // Terminated while released; a closed run's last state is not the switch.
    expect(await readKillSwitch()).toBe('unknown');
    const { id, handle } = await contain('auto');
    await waitForStatus(handle, (s) => expect(s.applied.map((a) => a.action)).toContain('restrict'));
    expect(await listActions(h.db, id)).toContain('restrict');
    // Unread, the switch was not taken as released: restrict waited for an answer by signal.
    const events = (await handle.fetchHistory()).events ?? [];
    const restrictAt = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'restrictIdentity');
    const firstAsk = events.findIndex((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'requestPermit');
    const firstAnswer = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'permitDecision');
    expect([firstAsk >= 0, firstAnswer >= 0]).toEqual([true, true]);
    expect(firstAnswer).toBeLessThan(restrictAt);
    expect((await h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID).describe()).status.name).toBe('RUNNING');
    expect(await readKillSwitch()).toBe('released');
  });

  it('a governor terminated while engaged comes back engaged, with its grants', async () => {
    const governor = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
    await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'ciso-1', reason: 'incident' });
    const before = await governorStatus(h.env.client);
    await governor.terminate('test: governor gone while engaged');

    const { id, handle } = await contain('auto');
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual([]);
    expect((await governor.describe()).status.name).toBe('RUNNING');
    const after = await governorStatus(h.env.client);
    expect(after).toMatchObject({ engaged: true, engagedBy: 'ciso-1', reason: 'incident', granted: before.granted });
    expect(after.waiting).toContain(handle.workflowId);

    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-1', reason: 'over' });
    await waitForStatus(handle, (s) => expect(s.applied.map((a) => a.action)).toContain('restrict'));
    // The first tests spent the budget of 2: its revoke waits for approval.
    await waitForStatus(handle, (s) => expect(s.pendingRequest?.stage).toBe('revoke'));
  });

  it('engaging the switch of a terminated governor starts it again from its last state', async () => {
    const governor = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
    const before = await governorStatus(h.env.client);
    expect(before.granted.length).toBeGreaterThan(0);
    await governor.terminate('test: governor gone');
    const after = await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'ciso-2', reason: 'drill' });
    expect(after).toMatchObject({ engaged: true, engagedBy: 'ciso-2', granted: before.granted });
    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-2', reason: 'drill over' });
  });

  it('a governor whose last state cannot be read comes back engaged, for a human to release', async () => {
    const governor = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
    await governor.terminate('test: replaced by a run no worker serves');
    // A closed run on a queue no worker polls: its state cannot be read.
    await h.env.client.workflow.start(cordonGovernor, { workflowId: GOVERNOR_WORKFLOW_ID, taskQueue: `unserved-${randomUUID()}` });
    await governor.terminate('test: gone, state unreadable');

    await createGovernorActivities(h.env.client, h.taskQueue, testLogger).ensureGovernor();
    const status = await governor.query(governorStatusQuery);
    expect(status).toMatchObject({ engaged: true, engagedBy: 'cordon' });
    expect(status.reason).toContain("the last governor's state could not be read");
    expect(await readKillSwitch()).toBe('engaged');
    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-1', reason: 'checked' });
    expect(await readKillSwitch()).toBe('released');
  });

  it('a pause outlasting a permit: the switch engaged meanwhile still holds the action after the resume', async () => {
    const { id, handle } = await contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    await handle.signal(pauseSignal, { by: 'oncall-1' });
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    // Approved and granted, the paused case holds its permit.
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('resume'));
    await eventually(async () =>
      expect((await governorStatus(h.env.client)).granted.filter((g) => g.workflowId === handle.workflowId).map((g) => g.stage)).toEqual(['isolate']),
    );

    await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'ciso-1', reason: 'engaged during a pause' });
    await handle.signal(resumeSignal, { by: 'oncall-1' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'ciso-1', reason: 'fixed' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    // The second ask was about the switch only: the budget was spent once.
    expect((await h.db.query('SELECT 1 FROM budget_grants WHERE workflow_id = $1', [handle.workflowId])).rows).toHaveLength(1);
    expect((await governorStatus(h.env.client)).granted.filter((g) => g.workflowId === handle.workflowId).map((g) => g.stage)).toEqual(['isolate']);
  });
});

// A governor of its own, with a short history, asked by a stream of requests from workflows that
// do not exist (its answers then fail to deliver, which it ignores): every answer stays in its
// history as a SignalExternalWorkflowExecutionInitiated event.
describe('the governor under a stream of requests', () => {
  const request = (n: number, overrides: Partial<PermitRequest> = {}): PermitRequest => ({
    requestId: `req-${n}`,
    workflowId: `nobody-${n}`,
    stage: 'revoke',
    destructive: true,
    approved: false,
    budget: { limit: 100, windowMs: 3_600_000 },
    ...overrides,
  });

  async function sendAll(handle: WorkflowHandle, requests: PermitRequest[], senders = 4): Promise<void> {
    const queue = [...requests];
    await Promise.all(
      Array.from({ length: senders }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await handle.signal(requestPermitSignal, next);
      }),
    );
  }

  const eventsOf = async (workflowId: string, runId: string) =>
    (await h.env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];

  // Every run's events, the first run first.
  async function runsOf(workflowId: string) {
    const runs: Awaited<ReturnType<typeof eventsOf>>[] = [];
    let runId: string | undefined = (await h.env.client.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const events = await eventsOf(workflowId, runId);
      runs.unshift(events);
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    return runs;
  }

  const signalsSent = (events: Awaited<ReturnType<typeof eventsOf>>, name: string) =>
    events.flatMap((e) => {
      const sent = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
      return sent?.signalName === name ? [sent] : [];
    });

  // The answers each run sent, the first run first.
  const answersByRun = async (workflowId: string): Promise<PermitAnswer[][]> =>
    (await runsOf(workflowId)).map((events) =>
      signalsSent(events, 'permitDecision').map((s) => JSON.parse(Buffer.from(s.input!.payloads![0].data!).toString()) as PermitAnswer),
    );

  const decisionsOf = (runs: PermitAnswer[][]) => {
    const byId = new Map<string, PermitDecision[]>();
    for (const a of runs.flat()) byId.set(a.requestId, [...(byId.get(a.requestId) ?? []), a.decision]);
    return byId;
  };

  it('answers every request once, spends the budget once and keeps the kill switch across continue-as-new', async () => {
    const workflowId = `governor-load-${randomUUID()}`;
    const handle = await h.env.client.workflow.start(cordonGovernor, { workflowId, taskQueue: h.taskQueue, args: [undefined, [], [], 100] });

    // 600 unapproved destructive requests against a budget of 100: more answers than the
    // governor remembers (500), so the first grants are forgotten by the time they are re-sent.
    const first = Array.from({ length: 600 }, (_, n) => request(n));
    await sendAll(handle, first);
    let decisions = await eventually(
      async () => {
        const byId = decisionsOf(await answersByRun(workflowId));
        expect(first.filter((r) => !byId.has(r.requestId))).toEqual([]);
        return byId;
      },
      { timeout: 60_000 },
    );
    const granted = first.filter((r) => decisions.get(r.requestId)?.[0] === 'granted').map((r) => r.requestId);
    expect(granted).toHaveLength(100);
    expect(first.every((r) => decisions.get(r.requestId)!.length === 1)).toBe(true);

    // Re-sent requests get their first answer again, whether or not it is still remembered.
    const resent = [...first.slice(0, 50), ...first.slice(550)];
    await sendAll(handle, resent);
    const switchedOn = await handle.executeUpdate(engageUpdate, { args: [{ by: 'ciso-1', reason: 'drill' }] });
    expect(switchedOn.engaged).toBe(true);
    const held = Array.from({ length: 300 }, (_, n) => request(1_000 + n, { destructive: false, stage: 'restrict' }));
    await sendAll(handle, held);

    const runs = await eventually(
      async () => {
        const all = await answersByRun(workflowId);
        const byId = decisionsOf(all);
        expect(held.filter((r) => !byId.has(r.requestId))).toEqual([]);
        expect(resent.filter((r) => byId.get(r.requestId)!.length < 2)).toEqual([]);
        return all;
      },
      { timeout: 60_000 },
    );
    decisions = decisionsOf(runs);
    expect(runs.length).toBeGreaterThan(3);
    for (const r of resent) expect(new Set(decisions.get(r.requestId))).toEqual(new Set([decisions.get(r.requestId)![0]]));
    expect(held.map((r) => decisions.get(r.requestId))).toEqual(held.map(() => ['engaged']));
    // A continued run keeps the switch in its memo from its first task on.
    await eventually(async () => expect((await handle.describe()).memo).toEqual({ killSwitch: 'engaged' }));

    const status = await handle.query(governorStatusQuery);
    expect(status.engaged).toBe(true);
    expect(status.granted.map((g) => g.requestId).sort()).toEqual([...granted].sort());
    expect(status.waiting).toEqual(expect.arrayContaining(held.map((r) => r.workflowId)));

    // Started on the case queue (as before the governor had a queue of its own), it moved to its
    // own once it had answered what it held; that run replays.
    const histories = await runsOf(workflowId);
    const queues = histories.map((events) => events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name);
    expect(queues).toEqual([h.taskQueue, ...queues.slice(1).map(() => governorTaskQueue(h.taskQueue))]);
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, { events: histories[0] }, workflowId);
    await handle.terminate('test over');
  }, 180_000);

  it('releases more waiting cases than Temporal lets one workflow task signal at once, every one', async () => {
    const workflowId = `governor-release-${randomUUID()}`;
    const handle = await h.env.client.workflow.start(cordonGovernor, { workflowId, taskQueue: h.taskQueue, args: [] });
    await handle.executeUpdate(engageUpdate, { args: [{ by: 'ciso-1', reason: 'drill' }] });
    const held = Array.from({ length: 2_200 }, (_, n) => request(n, { destructive: false, stage: 'restrict' }));
    await sendAll(handle, held, 8);
    await eventually(async () => expect((await handle.query(governorStatusQuery)).waiting).toHaveLength(held.length), { timeout: 60_000 });

    expect((await handle.executeUpdate(releaseUpdate, { args: [{ by: 'ciso-1', reason: 'drill over' }] })).engaged).toBe(false);
    const runs = await eventually(
      async () => {
        const all = await runsOf(workflowId);
        const told = new Set(all.flatMap((events) => signalsSent(events, 'governorReleased')).map((s) => s.workflowExecution?.workflowId));
        expect(held.filter((r) => !told.has(r.workflowId))).toEqual([]);
        return all;
      },
      { timeout: 120_000 },
    );
    // Failed tasks on continue-as-new with signals arriving are Temporal's way to not lose them; a
    // task over the limit on pending signals would fail on every retry.
    const failures = runs.flat().map((e) => e.workflowTaskFailedEventAttributes?.cause);
    expect(failures.filter((cause) => cause === temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED)).toEqual([]);
    await handle.terminate('test over');
  }, 180_000);

  it('answers a backlog larger than Temporal lets one workflow task signal at once', async () => {
    // No worker yet: 2,200 requests wait in the history, beyond the 2,000 signals a workflow may
    // have in flight, so answering them all in one task would fail that task forever.
    const taskQueue = `governor-backlog-${randomUUID()}`;
    const handle = await h.env.client.workflow.start(cordonGovernor, { workflowId: taskQueue, taskQueue, args: [] });
    const backlog = Array.from({ length: 2_200 }, (_, n) => request(n, { destructive: false, stage: 'restrict' }));
    await sendAll(handle, backlog, 8);

    const worker = await startWorker(h.env, h.db, taskQueue, { policyFile: TEST_POLICY, inventoryFile: h.inventory.file });
    const runs = await worker.runUntil(
      eventually(
        async () => {
          const all = await answersByRun(taskQueue);
          expect(all.flat()).toHaveLength(backlog.length);
          return all;
        },
        { timeout: 120_000 },
      ),
    );
    expect(new Set(runs.flat().map((a) => a.requestId)).size).toBe(backlog.length);
    expect(runs.flat().every((a) => a.decision === 'granted')).toBe(true);
    await handle.terminate('test over');
  }, 180_000);
});

describe('reading the kill switch', () => {
  it('comes from the governor’s memo, set as the switch moves: it answers with no worker running the governor', async () => {
    const singleton = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
    await singleton.terminate('test: a governor with a worker of its own').catch(() => undefined);
    const taskQueue = governorTaskQueue(`governor-alone-${randomUUID()}`);
    const worker = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') } });
    const memo = async () => (await singleton.describe()).memo;
    await worker.runUntil(async () => {
      const governor = await h.env.client.workflow.start(cordonGovernor, { workflowId: GOVERNOR_WORKFLOW_ID, taskQueue, args: [] });
      await eventually(async () => expect(await memo()).toEqual({ killSwitch: 'released' }));
      const switchInput = { by: 'ciso-1', reason: 'memo test' };
      await governor.executeUpdate(engageUpdate, { args: [switchInput] });
      expect(await memo()).toEqual({ killSwitch: 'engaged' });
      await governor.executeUpdate(releaseUpdate, { args: [switchInput] });
      expect(await memo()).toEqual({ killSwitch: 'released' });
      await governor.executeUpdate(engageUpdate, { args: [switchInput] });
    });
    // The worker is gone: a query would wait for one until the read's deadline, and read unknown.
    expect(await readKillSwitch()).toBe('engaged');
    await singleton.terminate('test over');
  });

  it('is unknown while the governor’s workflow task keeps failing, whatever its memo says', async () => {
    const singleton = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
    await singleton.terminate('test: a governor that breaks').catch(() => undefined);
    const taskQueue = governorTaskQueue(`governor-broken-${randomUUID()}`);
    const sound = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') } });
    const governor = await sound.runUntil(async () => {
      const started = await h.env.client.workflow.start(cordonGovernor, { workflowId: GOVERNOR_WORKFLOW_ID, taskQueue, args: [] });
      await eventually(async () => expect((await singleton.describe()).memo).toEqual({ killSwitch: 'released' }));
      return started;
    });
    expect(await readKillSwitch()).toBe('released');
    // Code that cannot replay the governor (a bad deploy): the next task fails, and is retried.
    const broken = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowsPath: path.join(__dirname, 'fixtures', 'brokenGovernor.ts') });
    await broken.runUntil(async () => {
      await governor.signal(requestPermitSignal, { requestId: 'r-1', workflowId: 'nobody', stage: 'restrict', destructive: false, approved: false, budget: { limit: 1, windowMs: 60_000 } });
      await eventually(async () => expect((await singleton.describe()).raw.pendingWorkflowTask?.attempt).toBeGreaterThan(1));
    });
    expect((await singleton.describe()).memo).toEqual({ killSwitch: 'released' });
    expect(await readKillSwitch()).toBe('unknown');
    await singleton.terminate('test over');
  }, 60_000);
});
