// A worker process for the bare baselines. The parent (a bench) talks to it over IPC: it says
// `ready` once polling, and answers `report` with when each workflow's no-ops ran (epoch ms, in order).
import { activityInfo } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger } from '../src/log';
import { installRuntime } from '../worker/runtime';
import { epochNow } from './support/stats';

async function main(): Promise<void> {
  const [address, taskQueue] = process.argv.slice(2);
  installRuntime(createLogger('warn'));
  const runs = new Map<string, number[]>();
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./bareWorkflows'),
    activities: {
      async noop() {
        const workflowId = activityInfo().workflowExecution!.workflowId;
        runs.set(workflowId, [...(runs.get(workflowId) ?? []), epochNow()]);
      },
    },
  });
  process.on('message', (message) => {
    if (message === 'report') process.send!({ runs: Object.fromEntries(runs) });
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.send!('ready');
  await running;
  await connection.close();
  process.disconnect(); // the IPC channel would keep the process alive
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
