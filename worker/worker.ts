import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { loadWorkflowBundle } from './bundle';

/** Where the worker connects and what it serves. */
export interface WorkerOptions extends Omit<ActivityDeps, 'namespace' | 'taskQueue'> {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowBundle: Awaited<ReturnType<typeof loadWorkflowBundle>>;
}

/** Creates the Cordon worker: every workflow and activity on one task queue. */
export function createWorker({ connection, namespace, taskQueue, workflowBundle, ...deps }: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle,
    activities: createActivities({ ...deps, namespace, taskQueue }),
  });
}
