// Replay: histories replayed per second through the SDK replayer, Cordon's containments against
// the bare workflows of the throughput bench (same number of activities).
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { loadWorkflowBundle, quietBundlerLogger } from '../worker/bundle';
import type { Row } from './support/stats';

async function replayAll(
  histories: temporal.api.history.v1.IHistory[],
  options: Parameters<typeof Worker.runReplayHistories>[0],
): Promise<number> {
  const start = performance.now();
  let failed = 0;
  for await (const result of Worker.runReplayHistories(
    options,
    histories.map((history, i) => ({ workflowId: `replay-${i}`, history })),
  )) {
    if (result.error) failed += 1;
  }
  if (failed) throw new Error(`${failed} histories failed to replay`);
  return histories.length / ((performance.now() - start) / 1000);
}

export async function replayBench(
  histories: { cordon: temporal.api.history.v1.IHistory[]; bare: temporal.api.history.v1.IHistory[] },
  dataConverter: DataConverter,
): Promise<Row[]> {
  const cordon = await replayAll(histories.cordon, { workflowBundle: await loadWorkflowBundle(), dataConverter });
  const bare = await replayAll(histories.bare, {
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve('./bareWorkflows'),
      logger: quietBundlerLogger,
    }),
  });
  const events = (hs: temporal.api.history.v1.IHistory[]) =>
    hs.reduce((n, h) => n + (h.events?.length ?? 0), 0) / hs.length;
  return [
    {
      bench: 'replay',
      metric: `histories/s (${histories.cordon.length}; ${events(histories.cordon).toFixed(0)} vs ${events(histories.bare).toFixed(0)} events each)`,
      cordon,
      baseline: bare,
      unit: '/s',
      ratio: cordon / bare,
    },
  ];
}
