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

/** Cordon's worker: cases and their activities on one task queue, run and stopped as one. */
export class CordonWorker {
  private stopping = false;

  constructor(private readonly workers: Worker[]) {}

  /** Runs until shut down; a worker failing stops the others and rejects. */
  async run(): Promise<void> {
    if (this.stopping) return;
    const runs = this.workers.map((w) => w.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    }
  }

  /** Starts a graceful shutdown of the workers still running; a run not yet started never starts. */
  shutdown(): void {
    this.stopping = true;
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  }

  /** Runs until `until` settles, then shuts down; returns its result. */
  async runUntil<R>(until: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      const stoppedEarly = running.then(() =>
        Promise.reject(new Error('the workers stopped before the work finished')),
      );
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
  ...deps
}: WorkerOptions): Promise<CordonWorker> {
  const cases = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle,
    interceptors,
    maxCachedWorkflows,
    activities: createActivities({ ...deps, namespace, taskQueue }),
  });
  return new CordonWorker([cases]);
}
