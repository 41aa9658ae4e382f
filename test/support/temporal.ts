// Real Temporal servers for tests: the dev server binary and the time-skipping test server.
// The servers and the worker come from stack.ts (no vitest there); the worker runs the bundle
// globalSetup built for this test run.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Database } from '../../src/db';
import { startWorkerWithBundle, type TestWorkerOptions } from './stack';

export { CONFIG_DIR, startDevServer, startTimeSkippingServer, testLogger, type TestWorkerOptions } from './stack';

/** A Cordon worker on the environment, on its own task queue, using the prebuilt bundle. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  db: Database,
  taskQueue: string,
  options: TestWorkerOptions,
): Promise<Worker> {
  return startWorkerWithBundle(env, db, taskQueue, options, { codePath: inject('workflowBundlePath') });
}
