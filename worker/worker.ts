import { NativeConnection, Worker, type WorkerInterceptors } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { loadWorkflowBundle } from './bundle';

/** Where the worker connects and what it serves. */
export interface WorkerOptions extends Omit<ActivityDeps, 'namespace' | 'taskQueue'> {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowBundle: Awaited<ReturnType<typeof loadWorkflowBundle>>;
  /** SDK interceptors (tracing, fault injection in tests). */
  interceptors?: WorkerInterceptors;
  /** Workflows kept in memory between tasks; unset = the SDK's default. */
  maxCachedWorkflows?: number;
}

/** Creates the Cordon worker: every workflow and activity on one task queue. */
export function createWorker({ connection, namespace, taskQueue, workflowBundle, interceptors, maxCachedWorkflows, ...deps }: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle,
    interceptors,
    maxCachedWorkflows,
    activities: createActivities({ ...deps, namespace, taskQueue }),
  });
}
