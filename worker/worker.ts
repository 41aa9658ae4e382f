import type { DataConverter } from '@temporalio/common';
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
  /** The payload codec (encryption); the client that starts cases must use the same. */
  dataConverter?: DataConverter;
}

/**
 * Cordon's worker: cases and their activities on one task queue. Its shutdown may be asked at
 * any time (a signal during start-up, twice, or after the worker failed) without throwing.
 */
export class CordonWorker {
  private stopping = false;

  constructor(private readonly worker: Worker) {}

  /** Runs until shut down. */
  async run(): Promise<void> {
    if (!this.stopping) await this.worker.run();
  }

  /** Starts a graceful shutdown if the worker runs; a run not yet started never starts. */
  shutdown(): void {
    this.stopping = true;
    if (this.worker.getState() === 'RUNNING') this.worker.shutdown();
  }

  /** Runs until `until` settles, then shuts down; returns its result. */
  async runUntil<R>(until: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      const stoppedEarly = running.then(() => Promise.reject(new Error('the worker stopped before the work finished')));
      return await Promise.race([typeof until === 'function' ? until() : until, stoppedEarly]);
    } finally {
      this.shutdown();
      await running;
    }
  }
}

/** Creates the Cordon worker on `taskQueue`. */
export async function createWorker({
  connection,
  namespace,
  taskQueue,
  workflowBundle,
  interceptors,
  maxCachedWorkflows,
  dataConverter,
  ...deps
}: WorkerOptions): Promise<CordonWorker> {
  const cases = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle,
    interceptors,
    maxCachedWorkflows,
    dataConverter,
    activities: createActivities({ ...deps, namespace, taskQueue }),
  });
  return new CordonWorker(cases);
}
