import { CancellationScope } from '@temporalio/workflow';
import type { ActionName } from '../activities/connectors/types';
import type { AuditTrail } from './auditTrail';
import { compensation } from './activities';

/** A registered undo: which action on which identity, and whether it has run. */
export interface Compensation {
  ref: string;
  stage: string;
  action: ActionName;
  state: 'pending' | 'done' | 'failed';
  error?: string;
}

/**
 * The compensation stack. Each reversible action is registered before it runs; `unwind`
 * runs the pending ones newest first in a non-cancellable scope. A failed undo stays in the
 * stack as `failed` (never dropped) so it can be retried and is visible in status.
 */
export class Saga {
  constructor(
    private readonly target: { provider: string; identityId: string; caseId?: string },
    protected readonly audit: AuditTrail,
    readonly compensations: Compensation[] = [],
  ) {}

  /** Registers the undo of `action` before the action starts. */
  register(stage: string, action: ActionName): Compensation {
    const entry: Compensation = { ref: `undo-${this.compensations.length + 1}-${action}`, stage, action, state: 'pending' };
    this.compensations.push(entry);
    this.audit.record({ stage, event: 'compensation.registered', actor: 'cordon', action: `undo:${action}`, compensationRef: entry.ref });
    return entry;
  }

  /** True when an undo failed after its retries and still waits for a retry. */
  get failed(): boolean {
    return this.compensations.some((c) => c.state === 'failed');
  }

  /** Runs every outstanding undo, newest first; returns false if any still fails. */
  async unwind(actor: string, reason: string): Promise<boolean> {
    return CancellationScope.nonCancellable(async () => {
      let allDone = true;
      for (const entry of [...this.compensations].reverse()) {
        if (entry.state === 'done') continue;
        try {
          const result = await compensation.undoAction({ ...this.target, action: entry.action });
          entry.state = 'done';
          delete entry.error;
          this.audit.record({ stage: entry.stage, event: 'compensation.applied', actor, reason, action: `undo:${entry.action}`, compensationRef: entry.ref, result: { ...result }, frameworks: ['NIST CSF RS.MI-01'] });
        } catch (err) {
          allDone = false;
          entry.state = 'failed';
          entry.error = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
          this.audit.record({ stage: entry.stage, event: 'compensation.failed', actor, reason: entry.error, action: `undo:${entry.action}`, compensationRef: entry.ref });
        }
      }
      return allDone;
    });
  }
}
