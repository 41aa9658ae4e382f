// Throughput: full auto containments (restrict, isolate, revoke, audit, case closed) per second
// on one worker, against bare workflows running the same number of no-op activities.
import type { temporal } from '@temporalio/proto';
import { submitAlert } from '../src/client/submitAlert';
import { containmentWorkflowId } from '../workflows/definitions';
import { benchAlert, identityIds } from './support/alerts';
import { inBatches, type Row } from './support/stats';
import { watchUsage, type Stack } from './support/stack';

const SUBMIT_CONCURRENCY = 50;

export interface ThroughputResult {
  rows: Row[];
  /** Histories of the timed containments and bare runs, for the replay bench. */
  histories: { cordon: temporal.api.history.v1.IHistory[]; bare: temporal.api.history.v1.IHistory[] };
}

// Activities a containment runs (Cordon runs no local activities, so all are task-queue ones).
// Starting the governor is left out: only the first cases of a fresh stack do it.
const activitiesIn = (history: temporal.api.history.v1.IHistory) =>
  (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes && e.activityTaskScheduledEventAttributes.activityType?.name !== 'ensureGovernor').length;

export async function throughputBench(stack: Stack, count: number): Promise<ThroughputResult> {
  const warmup = identityIds('tp-warmup', 10);
  const ids = identityIds('tp', count);
  const service = await stack.startService({
    policyFile: stack.policy('throughput', { caseHold: '1ms' }),
    inventoryFile: stack.inventory('throughput', [{ environment: 'auto', ids: [...warmup, ...ids] }]),
  });
  const bare = await stack.startBareWorker();
  const { client } = stack;

  async function contain(batch: string[]): Promise<void> {
    const handles = await inBatches(batch, SUBMIT_CONCURRENCY, (id) => submitAlert(client, stack.taskQueue, benchAlert(id), { askDisposition: false }));
    await Promise.all(handles.map((h) => client.workflow.getHandle(h.workflowId, h.runId).result()));
  }
  async function runBare(batch: string[], activities: number): Promise<void> {
    const handles = await inBatches(batch, SUBMIT_CONCURRENCY, (id) =>
      client.workflow.start('bareActivities', { workflowId: `bare-${id}`, taskQueue: stack.bareTaskQueue, args: [activities] }));
    await Promise.all(handles.map((h) => h.result()));
  }

  const historiesOf = (workflowIds: string[]) => Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).fetchHistory()));
  // Warm both workers up; a warm-up case on an idle stack takes the shortest path.
  await contain(warmup);
  const [sample] = await historiesOf([containmentWorkflowId({ provider: 'simulated', id: warmup[0] })]);
  await runBare(warmup, activitiesIn(sample));

  const cordonUsage = watchUsage(service.pid);
  const cordonStart = performance.now();
  await contain(ids);
  const cordonSeconds = (performance.now() - cordonStart) / 1000;
  const cordon = cordonUsage();

  // The bare runs do as many activities as the timed containments did on average: under a burst
  // a case reads the kill switch again when its opening reading has aged (openingReads.ts).
  const cordonHistories = await historiesOf(ids.map((id) => containmentWorkflowId({ provider: 'simulated', id })));
  const activities = Math.round(cordonHistories.reduce((n, h) => n + activitiesIn(h), 0) / cordonHistories.length);
  const bareUsage = watchUsage(bare.pid);
  const bareStart = performance.now();
  await runBare(ids, activities);
  const bareSeconds = (performance.now() - bareStart) / 1000;
  const bareFigures = bareUsage();

  const histories = { cordon: cordonHistories, bare: await historiesOf(ids.map((id) => `bare-${id}`)) };
  await Promise.all([service.stop(), bare.stop()]);
  const cordonRate = count / cordonSeconds;
  const bareRate = count / bareSeconds;
  return {
    histories,
    rows: [
      { bench: 'throughput', metric: `containments/s (${count}; bare: ${activities} no-op activities, the containments' mean; ${activitiesIn(sample)} on an idle stack)`, cordon: cordonRate, baseline: bareRate, unit: '/s', ratio: cordonRate / bareRate, target: '>= x0.60' },
      { bench: 'throughput', metric: 'worker CPU (share of one core)', cordon: cordon.cpuPercent, baseline: bareFigures.cpuPercent, unit: '%' },
      { bench: 'throughput', metric: 'worker peak RSS', cordon: cordon.peakRssMiB, baseline: bareFigures.peakRssMiB, unit: 'MiB' },
    ],
  };
}
