// Reaction latency: alert POST → the provider applies the first containment action, against two
// floors of bare workflows started from the same client at the same pace: the one-activity floor
// (its first no-op runs) and the same-round-trips floor (its second no-op runs: start, task,
// activity, task, activity, the hops Cordon's path takes to open a case and then act). Alerts
// arrive at a steady rate below saturation, so some queueing is part of both sides' figures.
// Also the shape of one automatic 3-action containment: its activities, workflow tasks, events.
import type { temporal } from '@temporalio/proto';
import { containmentWorkflowId } from '../workflows/definitions';
import { benchAlert, firstApplied, identityIds, until, appliedCount } from './support/alerts';
import { epochNow, latencySummary, type Row } from './support/stats';
import type { Stack } from './support/stack';

const pace = (perSecond: number) => new Promise((r) => setTimeout(r, 1000 / perSecond));

export async function latencyBench(stack: Stack, count: number, perSecond: number): Promise<Row[]> {
  const warmup = identityIds('lat-warmup', 10);
  const ids = identityIds('lat', count);
  const service = await stack.startService({
    policyFile: stack.policy('latency'),
    inventoryFile: stack.inventory('latency', [{ environment: 'auto', ids: [...warmup, ...ids] }]),
  });
  const bare = await stack.startBareWorker();

  const sentAt = new Map<string, number>();
  const posts: Promise<void>[] = [];
  async function post(id: string): Promise<void> {
    sentAt.set(id, epochNow());
    const res = await fetch(`${service.url}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(benchAlert(id)),
    });
    if (!res.ok) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
  }
  // Failures are collected, not left unhandled for minutes (which would crash before teardown).
  const failures: unknown[] = [];
  for (const id of [...warmup, ...ids]) {
    posts.push(post(id).catch((err) => void failures.push(err)));
    await pace(perSecond);
  }
  await Promise.all(posts);
  if (failures.length) throw new AggregateError(failures, `${failures.length} alerts were refused`);
  await until(async () => (await appliedCount(stack.db, 'restrict', ids)) === ids.length, 'every first action');
  // The baseline starts on an idle machine: every case has finished its later stages.
  await until(
    async () => (await appliedCount(stack.db, 'revoke', [...warmup, ...ids])) === warmup.length + ids.length,
    'every case contained',
  );
  const applied = await firstApplied(stack.db, 'restrict', ids);
  const cordon = ids.map((id) => applied.get(id)! - sentAt.get(id)!);

  const startedAt = new Map<string, number>();
  const starts: Promise<unknown>[] = [];
  for (const id of [...warmup, ...ids]) {
    startedAt.set(`bare-${id}`, epochNow());
    starts.push(
      stack.bareClient.workflow
        .start('bareActivities', { workflowId: `bare-${id}`, taskQueue: stack.bareTaskQueue, args: [2] })
        .then((h) => h.result())
        .catch((err) => void failures.push(err)),
    );
    await pace(perSecond);
  }
  await Promise.all(starts);
  if (failures.length) throw new AggregateError(failures, `${failures.length} bare workflows failed`);
  const ran = await bare.runs();
  const floor = (hop: number) => latencySummary(ids.map((id) => ran[`bare-${id}`][hop] - startedAt.get(`bare-${id}`)!));
  const shape = shapeOf(
    await stack.client.workflow
      .getHandle(containmentWorkflowId({ provider: 'simulated', id: warmup[0] }))
      .fetchHistory(),
  );
  await Promise.all([service.stop(), bare.stop()]);

  const c = latencySummary(cordon);
  const [oneActivity, sameHops] = [floor(0), floor(1)];
  return [
    ...(['p50', 'p95', 'p99'] as const).map((p) => ({
      bench: 'latency',
      metric: `alert -> first action ${p} vs one-activity floor (${count} at ${perSecond}/s)`,
      cordon: c[p],
      baseline: oneActivity[p],
      unit: 'ms',
      ratio: c[p] / oneActivity[p],
      target: p === 'p50' ? '<= x2.00' : undefined,
    })),
    {
      bench: 'latency',
      metric: 'alert -> first action p50 vs same-round-trips floor (2 activities in turn)',
      cordon: c.p50,
      baseline: sameHops.p50,
      unit: 'ms',
      ratio: c.p50 / sameHops.p50,
    },
    {
      bench: 'shape',
      metric: 'activities, one automatic 3-action containment',
      cordon: shape.activities,
      baseline: 3,
      unit: '',
      target: '<= 5',
    },
    { bench: 'shape', metric: 'workflow tasks', cordon: shape.tasks, unit: '', target: '<= 6' },
    { bench: 'shape', metric: 'history events', cordon: shape.events, unit: '', target: '<= 50' },
  ];
}

// What one held case cost: activities scheduled, workflow tasks completed, history events.
function shapeOf(history: temporal.api.history.v1.IHistory) {
  const events = history.events ?? [];
  return {
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    tasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    events: events.length,
  };
}
