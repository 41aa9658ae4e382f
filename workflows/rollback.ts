import { CancellationScope } from '@temporalio/workflow';
import { canonicalJson } from '../src/digest';
import type { HumanCause, SnapshotReading } from '../src/domain/case';
import type { Case } from './case';
import type { Outcome } from './definitions';
import { readIdentity, undo } from './actions';

// Observed evidence (sessions, last use) changes by itself; the restorable state must match.
const restorable = (snapshot: Record<string, unknown>) => canonicalJson({ ...snapshot, observed: undefined });

/**
 * Undoes every reversible step, newest first, in a non-cancellable scope, then checks that the
 * identity is as the case found it. An undo that keeps failing leaves the case needing attention
 * until `retryCompensations`; it is never dropped.
 */
export async function rollBack(
  c: Case,
  actor: string,
  reason: string,
  outcome: Outcome,
  cause?: HumanCause,
): Promise<void> {
  c.setStage('rollback');
  c.rollbackCause = cause;
  const outstanding = c.saga.outstanding();
  let after: SnapshotReading | undefined;
  await CancellationScope.nonCancellable(async () => {
    for (const [i, entry] of outstanding.entries())
      after = await undo(c, entry, { actor, reason, cause, snapshotAfter: i === outstanding.length - 1 });
    if (!outstanding.length && !c.shadow) after = await readIdentity(c);
  });
  if (c.saga.failed) {
    const failed = c.saga.compensations.filter((e) => e.state === 'failed');
    c.needsAttention(`undo failed: ${failed.map((e) => `${e.action} (${e.error})`).join('; ')}`);
    return;
  }
  const now = after && 'snapshot' in after ? after.snapshot : undefined;
  // A dry run changed nothing; a real case may have changed the identity meanwhile.
  const before = c.status.snapshot;
  const restored = c.shadow || before === undefined || (now !== undefined && restorable(now) === restorable(before));
  c.record({ stage: 'rollback', event: 'identity.restored', actor, reason, result: { restored, before, after: now } });
  if (restored) c.setStage('rolled-back', outcome);
  else {
    c.setStage('rolled-back');
    c.needsAttention('the identity does not match its state before the case');
  }
}
