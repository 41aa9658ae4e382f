import type { ActionName } from '../src/domain/case';
import type { AuditTrail } from './auditTrail';

/** A registered undo: which action, and whether it has run. */
export interface Compensation {
  ref: string;
  stage: string;
  action: ActionName;
  state: 'pending' | 'done' | 'failed';
  error?: string;
}

/**
 * The compensation stack. Each reversible action is registered before it runs; a rollback
 * (rollback.ts) runs the outstanding ones newest first. A failed undo stays in the stack as
 * `failed` (never dropped) so it can be retried and is visible in status.
 */
export class Saga {
  constructor(
    private readonly audit: AuditTrail,
    readonly compensations: Compensation[] = [],
  ) {}

  /** Registers the undo of `action` before the action starts. */
  register(stage: string, action: ActionName): Compensation {
    const entry: Compensation = {
      ref: `undo-${this.compensations.length + 1}-${action}`,
      stage,
      action,
      state: 'pending',
    };
    this.compensations.push(entry);
    this.audit.record({
      stage,
      event: 'compensation.registered',
      actor: 'cordon',
      action: `undo:${action}`,
      compensationRef: entry.ref,
    });
    return entry;
  }

  /** The undos still to run, newest first. */
  outstanding(): Compensation[] {
    return this.compensations.filter((c) => c.state !== 'done').reverse();
  }

  /** True when an undo failed after its retries and still waits for a retry. */
  get failed(): boolean {
    return this.compensations.some((c) => c.state === 'failed');
  }

  /** Records that an undo ran. */
  done(entry: Compensation): void {
    entry.state = 'done';
    delete entry.error;
  }

  /** Records that an undo failed; it is kept for a retry. */
  fail(entry: Compensation, error: string): void {
    entry.state = 'failed';
    entry.error = error;
  }
}
