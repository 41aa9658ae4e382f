// Reaction latency: alert POST → the provider applies the first containment action, against the
// floor of a bare workflow whose one no-op activity runs, started from the same client. Alerts
// arrive at a steady rate below saturation; at 1.5/s that is about two thirds of the containments
// a second the throughput bench measures, so some queueing is part of Cordon's figures.
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
    const res = await fetch(`${service.url}/v1/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(benchAlert(id)) });
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
  await until(async () => (await appliedCount(stack.db, 'revoke', [...warmup, ...ids])) === warmup.length + ids.length, 'every case contained');
  const applied = await firstApplied(stack.db, 'restrict', ids);
  const cordon = ids.map((id) => applied.get(id)! - sentAt.get(id)!);

  const startedAt = new Map<string, number>();
  const starts: Promise<unknown>[] = [];
  for (const id of [...warmup, ...ids]) {
    startedAt.set(`bare-${id}`, epochNow());
    starts.push(stack.client.workflow.start('bareActivities', { workflowId: `bare-${id}`, taskQueue: stack.bareTaskQueue, args: [1] }).then((h) => h.result()).catch((err) => void failures.push(err)));
    await pace(perSecond);
  }
  await Promise.all(starts);
  if (failures.length) throw new AggregateError(failures, `${failures.length} bare workflows failed`);
  const ran = await bare.firstRuns();
  const baseline = ids.map((id) => ran[`bare-${id}`] - startedAt.get(`bare-${id}`)!);
  await Promise.all([service.stop(), bare.stop()]);

  const c = latencySummary(cordon);
  const b = latencySummary(baseline);
  return (['p50', 'p95', 'p99'] as const).map((p) => ({
    bench: 'latency',
    metric: `alert -> first action ${p} (${count} at ${perSecond}/s)`,
    cordon: c[p],
    baseline: b[p],
    unit: 'ms',
    ratio: c[p] / b[p],
    target: '<= x1.50',
  }));
}
