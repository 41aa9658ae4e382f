// Throughput: full auto containments (restrict, isolate, revoke, audit, case closed) per second
// on one worker, against bare workflows running the work the user asked for: the same three
// provider actions, as no-op activities. Whatever Cordon adds (opening, audit, guards) is its cost.
import type { temporal } from '@temporalio/proto';
import { submitAlert } from '../src/client/submitAlert';
import { containmentWorkflowId } from '../workflows/definitions';
import { benchAlert, identityIds } from './support/alerts';
import { inBatches, type Row } from './support/stats';
import type { BenchStack, Side } from './support/benchStack';
import { watchUsage } from './support/usage';

const SUBMIT_CONCURRENCY = 50;

export interface ThroughputResult {
  rows: Row[];
  /** Histories of the timed containments and bare runs, for the replay bench. */
  histories: { cordon: temporal.api.history.v1.IHistory[]; bare: temporal.api.history.v1.IHistory[] };
}

// The provider actions of the bench policy's automatic rule: restrict, isolate, revoke.
const PROVIDER_ACTIONS = 3;
// Activities a containment runs (Cordon runs no local activities, so all are task-queue ones).
const activitiesIn = (history: temporal.api.history.v1.IHistory) =>
  (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;

// Cordon and bare rounds alternate, each bare round right after the Cordon round it matches, so
// drift in the machine's speed over the run (which moved the rates by a fifth between runs)
// falls on both sides of each pair instead of on one phase. Every round is a full burst of
// `count`: Cordon's rate falls with the burst's size (3.4/s at 100 against 2.35/s at 300), so
// smaller rounds would flatter it.
const ROUNDS = 3;

/** Runs one side's `work` on `batch` while watching its workers: wall seconds, CPU share of one core and peak RSS. */
function timed(
  stack: BenchStack,
  side: Side,
  pids: number[],
  batch: string[],
  work: (batch: string[]) => Promise<void>,
) {
  return stack.during(side, batch.length, async () => {
    const usage = watchUsage(...pids);
    const start = performance.now();
    await work(batch);
    const seconds = (performance.now() - start) / 1000;
    const { cpuPercent, peakRssMiB } = usage();
    return { seconds, cpuPercent, peakRssMiB };
  });
}

type Timed = Awaited<ReturnType<typeof timed>>;
// The CPU share over all rounds weighs each round by its length.
const total = (runs: Timed[]) => {
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    seconds,
    cpuPercent: runs.reduce((n, r) => n + r.cpuPercent * r.seconds, 0) / seconds,
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
  };
};

/** `prefix` names the identities: a stack that runs the bench again needs new ones. */
export async function throughputBench(stack: BenchStack, count: number, prefix = 'tp'): Promise<ThroughputResult> {
  const warmup = identityIds(`${prefix}-warmup`, 10);
  const rounds = Array.from({ length: ROUNDS }, (_, i) => identityIds(`${prefix}-${i}`, count));
  const service = await stack.startService({
    policyFile: stack.policy('throughput', { caseHold: '1ms' }),
    inventoryFile: stack.inventory('throughput', [{ environment: 'auto', ids: [...warmup, ...rounds.flat()] }]),
  });
  const bare = await stack.startBareWorker();
  const { client } = stack;

  async function contain(batch: string[]): Promise<void> {
    const handles = await inBatches(batch, SUBMIT_CONCURRENCY, (id) =>
      submitAlert(client, stack.taskQueue, benchAlert(id), { askDisposition: false }),
    );
    await Promise.all(handles.map((h) => client.workflow.getHandle(h.workflowId, h.runId).result()));
  }
  async function runBare(batch: string[]): Promise<void> {
    const handles = await inBatches(batch, SUBMIT_CONCURRENCY, (id) =>
      stack.bareClient.workflow.start('bareActivities', {
        workflowId: `bare-${id}`,
        taskQueue: stack.bareTaskQueue,
        args: [PROVIDER_ACTIONS],
      }),
    );
    await Promise.all(handles.map((h) => h.result()));
  }

  const historiesOf = (workflowIds: string[]) =>
    Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).fetchHistory()));
  const cordonHistoriesOf = (batch: string[]) =>
    historiesOf(batch.map((id) => containmentWorkflowId({ provider: 'simulated', id })));
  const meanActivities = (histories: temporal.api.history.v1.IHistory[]) =>
    Math.round(histories.reduce((n, h) => n + activitiesIn(h), 0) / histories.length);
  // Warm both workers up.
  await contain(warmup);
  await runBare(warmup);

  const cordonRuns: Timed[] = [];
  const bareRuns: Timed[] = [];
  const histories = {
    cordon: [] as temporal.api.history.v1.IHistory[],
    bare: [] as temporal.api.history.v1.IHistory[],
  };
  const activityCounts: number[] = [];
  for (const batch of rounds) {
    cordonRuns.push(await timed(stack, 'cordon', service.workerPids, batch, contain));
    const cordonHistories = await cordonHistoriesOf(batch);
    activityCounts.push(meanActivities(cordonHistories));
    bareRuns.push(await timed(stack, 'floor', [bare.pid], batch, runBare));
    histories.cordon.push(...cordonHistories);
    histories.bare.push(...(await historiesOf(batch.map((id) => `bare-${id}`))));
  }
  await Promise.all([service.stop(), bare.stop()]);

  const cordon = total(cordonRuns);
  const bareTotal = total(bareRuns);
  const cases = count * ROUNDS;
  const cordonRate = cases / cordon.seconds;
  const bareRate = cases / bareTotal.seconds;
  const pairRatios = cordonRuns.map((c, i) => bareRuns[i].seconds / c.seconds);
  const spread = `pairs x${Math.min(...pairRatios).toFixed(2)} to x${Math.max(...pairRatios).toFixed(2)}`;
  const workers = service.workerPids.length > 1 ? `, ${service.workerPids.length} workers summed` : '';
  return {
    histories,
    rows: [
      {
        bench: 'throughput',
        metric: `containments/s (${ROUNDS} alternating rounds of ${count} at once, ${spread}; bare: ${PROVIDER_ACTIONS} no-op activities; Cordon: ${activityCounts.join('/')} activities, each round's mean)`,
        cordon: cordonRate,
        baseline: bareRate,
        unit: '/s',
        ratio: cordonRate / bareRate,
        target: '>= x0.40',
      },
      {
        bench: 'throughput',
        metric: `worker CPU (share of one core${workers})`,
        cordon: cordon.cpuPercent,
        baseline: bareTotal.cpuPercent,
        unit: '%',
      },
      {
        bench: 'throughput',
        metric: `worker peak RSS${workers}`,
        cordon: cordon.peakRssMiB,
        baseline: bareTotal.peakRssMiB,
        unit: 'MiB',
      },
    ],
  };
}
