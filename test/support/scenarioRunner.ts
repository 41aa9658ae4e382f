// Plays a declarative containment scenario against a real Temporal server and returns the
// histories it produced. Used by scripts/record-histories.ts to (re)record the golden
// histories in test/histories/; no vitest here, so scripts can import it.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerOptions } from '../../worker/worker';
import { clearFault, injectFault } from '../../activities/connectors/simulated/state';
import { submitAlert } from '../../src/client/submitAlert';
import { openDatabase } from '../../src/db';
import { recordDecision } from '../../src/decisions/store';
import { setKillSwitch } from '../../src/killSwitch';
import {
  approveSignal,
  decideUpdate,
  denySignal,
  falsePositiveSignal,
  pauseSignal,
  resumeSignal,
  retryCompensationsSignal,
  statusQuery,
  type ContainmentStatus,
} from '../../workflows/definitions';
import { makeAlert } from './alerts';
import {
  startDevServer,
  startTimeSkippingServer,
  startWorkerWithBundle,
  TEST_POLICY,
  TestInventory,
  testPolicyWith,
} from './stack';

/** One step; `who`/`alert`/... name an identity label from the scenario's `identities`. */
export type Step =
  | { alert: string; confidence?: number; severity?: 'low' | 'medium' | 'high' | 'critical'; shadow?: true }
  /** Starts the case by hand (no alert yet), with a short history limit. */
  | { start: string; maxHistoryEvents: number }
  /** `api`: as the authenticated intake does: the decision recorded in the store, then the Update naming it. */
  | { decide: 'approve' | 'deny'; who: string; stage: string; by: string; via: 'signal' | 'update' | 'api' }
  | { falsePositive: string; by: string; reason?: string }
  | { retryCompensations: string; by: string }
  | { pause: string; by: string }
  | { resume: string; by: string }
  | { fault: string; action: string }
  | { clearFault: string; action: string }
  | { killSwitch: 'engage' | 'release'; by: string; reason: string }
  /** Advances the time-skipping server's clock. */
  | { sleep: Duration }
  /** Waits until the workflow shows this state; `closed` waits for its result. */
  | {
      until: string;
      outcome?: string;
      waitingFor?: string;
      pending?: string;
      closed?: true;
      continued?: true;
      shadow?: true;
    };

export interface Scenario {
  name: string;
  /** `time-skipping` for anything that waits out a timer. */
  server: 'dev' | 'time-skipping';
  /** Destructive actions per hour (default: the test policy's 1000). */
  budget?: number;
  /** Only authenticated decisions count (the policy's `decisions.mode: verified`). */
  verified?: true;
  /** Label → inventory environment (which picks the test policy's rule); the identity is `<name>-<label>`. */
  identities: Record<string, string>;
  steps: Step[];
  /** File name (without .json) → identity label; `label@first` is the case's first run, `label@shadow` its shadow case. */
  record: Record<string, string>;
}

const WAIT_MS = 60_000;

// Polls the status query: the workflow progresses asynchronously.
async function waitForStatus(
  handle: WorkflowHandle,
  what: string,
  check: (s: ContainmentStatus) => boolean,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let last: ContainmentStatus | undefined;
  for (;;) {
    last = await handle.query(statusQuery).catch(() => last);
    if (last && check(last)) return;
    if (Date.now() > deadline)
      throw new Error(
        `${handle.workflowId}: no ${what} within ${WAIT_MS} ms (stage ${last?.stage}, outcome ${last?.outcome})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function pendingRequestId(handle: WorkflowHandle, stage: string): Promise<string> {
  await waitForStatus(handle, `pending ${stage} request`, (s) => s.pendingRequest?.stage === stage);
  return (await handle.query(statusQuery)).pendingRequest!.requestId;
}

/** Runs one scenario on a fresh server, worker and in-memory database; returns file name → history. */
export async function runScenario(
  scenario: Scenario,
  workflowBundle: WorkerOptions['workflowBundle'],
): Promise<Record<string, History>> {
  const timeSkipping = scenario.server === 'time-skipping';
  const env: TestWorkflowEnvironment = await (timeSkipping ? startTimeSkippingServer() : startDevServer());
  const db = await openDatabase({});
  const inventory = new TestInventory();
  const taskQueue = `record-${randomUUID()}`;
  const policyFile =
    scenario.budget === undefined && !scenario.verified
      ? TEST_POLICY
      : testPolicyWith((p) => {
          if (scenario.budget !== undefined) p.governor.budget.limit = scenario.budget;
          if (scenario.verified) p.decisions = { mode: 'verified' };
        });
  const worker = await startWorkerWithBundle(
    env,
    db,
    taskQueue,
    { policyFile, inventoryFile: inventory.file },
    workflowBundle,
  );
  const running = worker.run();
  try {
    const ids = Object.fromEntries(
      Object.entries(scenario.identities).map(([label, environment]) => [
        label,
        inventory.add(environment, { id: `${scenario.name}-${label}` }),
      ]),
    );
    const idOf = (label: string) => ids[label] ?? fail(`${scenario.name}: unknown identity ${label}`);
    const workflowIdOf = (label: string, shadow?: boolean) =>
      `${shadow ? 'shadow:' : ''}contain:simulated:${idOf(label)}`;
    const handleOf = (label: string, shadow?: boolean) => env.client.workflow.getHandle(workflowIdOf(label, shadow));
    const firstRuns = new Map<string, string>();
    for (const step of scenario.steps) {
      if ('alert' in step) {
        const alert = makeAlert({
          identity: { provider: 'simulated', id: idOf(step.alert) },
          confidence: step.confidence ?? 0.9,
          ...(step.severity && { severity: step.severity }),
          ...(step.shadow && { shadow: true }),
        });
        // The Java test server has no custom search attributes.
        const { runId } = await submitAlert(env.client, taskQueue, alert, { searchAttributes: !timeSkipping });
        if (!firstRuns.has(step.alert) && runId) firstRuns.set(step.alert, runId);
      } else if ('start' in step) {
        const started = await env.client.workflow.start('containIdentity', {
          workflowId: workflowIdOf(step.start),
          taskQueue,
          args: [
            {
              identity: { provider: 'simulated', id: idOf(step.start) },
              maxHistoryEvents: step.maxHistoryEvents,
              searchAttributes: !timeSkipping,
            },
          ],
        });
        firstRuns.set(step.start, started.firstExecutionRunId);
      } else if ('decide' in step) {
        const handle = handleOf(step.who);
        const decision = { requestId: await pendingRequestId(handle, step.stage), approver: step.by };
        if (step.via === 'api') {
          const { actionDigest } = (await handle.query(statusQuery)).pendingRequest!;
          const decisionId = await recordDecision(db, {
            workflowId: handle.workflowId,
            kind: step.decide,
            ...decision,
            actionDigest,
            actor: step.by,
            method: 'token',
          });
          const args = [{ decision: step.decide, ...decision, actionDigest, decisionId }] as const;
          await handle.executeUpdate(decideUpdate, { args: [...args] });
        } else if (step.via === 'update')
          await handle.executeUpdate(decideUpdate, { args: [{ decision: step.decide, ...decision }] });
        else await handle.signal(step.decide === 'approve' ? approveSignal : denySignal, decision);
      } else if ('falsePositive' in step) {
        await handleOf(step.falsePositive).signal(falsePositiveSignal, { by: step.by, reason: step.reason });
      } else if ('retryCompensations' in step) {
        await handleOf(step.retryCompensations).signal(retryCompensationsSignal, { by: step.by });
      } else if ('pause' in step) {
        await handleOf(step.pause).signal(pauseSignal, { by: step.by });
      } else if ('resume' in step) {
        await handleOf(step.resume).signal(resumeSignal, { by: step.by });
      } else if ('fault' in step) {
        await injectFault(db, idOf(step.fault), step.action, 'permanent');
      } else if ('clearFault' in step) {
        await clearFault(db, idOf(step.clearFault), step.action);
      } else if ('killSwitch' in step) {
        await setKillSwitch(db, env.client, {
          engaged: step.killSwitch === 'engage',
          by: step.by,
          reason: step.reason,
        });
      } else if ('sleep' in step) {
        await env.sleep(step.sleep);
      } else if (step.closed) {
        await handleOf(step.until).result();
      } else if (step.continued) {
        await waitFor(
          `${step.until} to continue as new`,
          async () => (await handleOf(step.until).describe()).runId !== firstRuns.get(step.until),
        );
      } else {
        const { outcome, waitingFor, pending } = step;
        await waitForStatus(
          handleOf(step.until, step.shadow),
          JSON.stringify({ outcome, waitingFor, pending }),
          (s) =>
            (outcome === undefined || s.outcome === outcome) &&
            (waitingFor === undefined || s.waitingFor === waitingFor) &&
            (pending === undefined || s.pendingRequest?.stage === pending),
        );
      }
    }
    const histories: Record<string, History> = {};
    for (const [file, spec] of Object.entries(scenario.record)) {
      const [label, which] = spec.split('@');
      const workflowId = workflowIdOf(label, which === 'shadow');
      const history = await env.client.workflow
        .getHandle(workflowId, which === 'first' ? firstRuns.get(label) : undefined)
        .fetchHistory();
      // The dev server records the workflow id in the first event; the Java test server does
      // not. Replays need it (workflowInfo().workflowId), and reports name it.
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      if (started && !started.workflowId) started.workflowId = workflowId;
      histories[file] = history;
    }
    return histories;
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await Promise.all([env.teardown(), db.close()]);
  }
}

function fail(message: string): never {
  throw new Error(message);
}
