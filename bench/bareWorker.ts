// A worker process for the bare baselines. The parent (a bench) talks to it over IPC: it says
// `ready` once polling, and answers `report` with when each workflow's no-ops ran (epoch ms, in order).
// It reaches Temporal as a Cordon process does, from TEMPORAL_ADDRESS and, on a secured server,
// TEMPORAL_TLS_*_FILE and TEMPORAL_API_KEY_FILE; its one argument is the task queue.
import { activityInfo } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger } from '../src/log';
import { installRuntime } from '../worker/runtime';
import { connectionOptions } from './support/access';
import { epochNow } from './support/stats';

async function main(): Promise<void> {
  const [taskQueue] = process.argv.slice(2);
  installRuntime(createLogger('warn'));
  const runs = new Map<string, number[]>();
  const connection = await NativeConnection.connect(connectionOptions(process.env));
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
