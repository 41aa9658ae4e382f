// Real Temporal servers for tests: the dev server binary and the time-skipping test server.
// The servers and the worker come from stack.ts (no vitest there); the worker runs the bundle
// globalSetup built for this test run.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import type { Database } from '../../src/db';
import type { CordonWorker } from '../../worker/worker';
import { startWorkerWithBundle, type TestWorkerOptions } from './stack';

export { CONFIG_DIR, startDevServer, startTimeSkippingServer, testLogger, type TestWorkerOptions } from './stack';

/** Cordon workers on the environment, on their own task queues, using the prebuilt bundle. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  db: Database,
  taskQueue: string,
  options: TestWorkerOptions,
): Promise<CordonWorker> {
  return startWorkerWithBundle(env, db, taskQueue, options, { codePath: inject('workflowBundlePath') });
}
