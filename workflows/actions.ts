// A case's provider actions and undos: one activity each, which also delivers the case's outbox.
import { digestOf } from '../src/digest';
import type {
  ActionName,
  ActionOutcome,
  Authority,
  HumanCause,
  SnapshotReading,
  UndoOutcome,
} from '../src/domain/case';
import { owaspReferences } from '../src/audit/frameworks';
import type { PlannedStage } from '../src/policy/plan';
import type { Case } from './case';
import type { Compensation } from './saga';
import { actions, bookkeeping, undos } from './steps';
import { errorText } from '../src/domain/errors';

/** What became of an action step, as the stage sees it; `reason` says why it did not happen. */
export interface ActionResult {
  status: Exclude<ActionOutcome['status'], 'applied' | 'shadowed'> | 'done' | 'failed';
  reason?: string;
}

// A held case tries again after these waits (or at once when the release is signalled).
const KILL_SWITCH_BACKOFF_MS = [1_000, 5_000, 30_000, 120_000, 300_000];

/** Who allowed an action, as the audit names it. */
function actorOf(c: Case, authority: Authority): string {
  if (authority.by === 'approvers') return `approvers:${authority.approvers.join(',')}`;
  const rule = `policy:${c.plan?.rule}`;
  return authority.by === 'timeout' ? `${rule} (approval timed out: proceed)` : rule;
}

function recordEvidence(c: Case, stage: string, reading: SnapshotReading): void {
  if ('snapshot' in reading) c.status.snapshot ??= reading.snapshot;
  const snapshot = 'snapshot' in reading ? digestOf(reading.snapshot) : 'unavailable';
  c.record({
    stage,
    event: 'evidence.captured',
    actor: 'cordon',
    reason: 'unavailable' in reading ? reading.unavailable : undefined,
    result: { snapshot },
    frameworks: ['NIST CSF RS.AN-03'],
  });
}

function recordDone(
  c: Case,
  stage: PlannedStage,
  authority: Authority,
  outcome: Extract<ActionOutcome, { status: 'applied' | 'shadowed' }>,
  undo?: Compensation,
): void {
  recordEvidence(c, stage.stage, outcome.reading);
  const action = stage.action;
  const alertIds = c.ledger.alerts.map((a) => a.id);
  if (outcome.status === 'shadowed') {
    c.status.wouldDo!.push({ stage: stage.stage, action, decidedBy: actorOf(c, authority) });
    const result = {
      performed: false,
      reversible: stage.reversible,
      requiresApproval: stage.requiresApproval,
      plan: { rule: c.plan?.rule, policyDigest: c.plan?.policyDigest },
    };
    c.record({
      stage: stage.stage,
      event: 'action.shadowed',
      actor: actorOf(c, authority),
      action,
      reason: 'shadow mode: not performed',
      result,
      compensationRef: undo?.ref,
      alertIds,
    });
    return;
  }
  const { changed, verified, detail } = outcome;
  c.status.applied.push({ stage: stage.stage, action, changed, verified, detail });
  const frameworks = [
    stage.reversible ? 'NIST CSF RS.MI-01' : 'NIST CSF RS.MI-02',
    ...owaspReferences(c.ledger.alerts.map((a) => a.kind)),
  ];
  c.record({
    stage: stage.stage,
    event: 'action.applied',
    actor: actorOf(c, authority),
    action,
    result: { changed, detail, verified },
    compensationRef: undo?.ref,
    alertIds,
    frameworks,
  });
}

/**
 * Runs one provider action in one activity that guards, captures, acts and checks; `undo` was
 * registered before it (when reversible). An effect the identity system does not show is no
 * containment: the stage fails.
 */
export async function act(
  c: Case,
  stage: PlannedStage,
  authority: Authority,
  undo?: Compensation,
): Promise<ActionResult> {
  const action = stage.action as ActionName;
  const outbox = c.outbox.take();
  let outcome: ActionOutcome;
  try {
    outcome = await actions.actOnIdentity({
      target: c.target,
      stage: stage.stage,
      action,
      alerts: c.ledger.planned(),
      policyDigest: c.plan!.policyDigest,
      authority,
      outbox,
    });
  } catch (err) {
    c.outbox.putBack(outbox);
    const reason = errorText(err);
    c.record({ stage: stage.stage, event: 'action.failed', actor: 'cordon', action, reason });
    return { status: 'failed', reason };
  }
  c.settle(outbox, outcome.receipt);
  if (outcome.status === 'applied' || outcome.status === 'shadowed') {
    recordDone(c, stage, authority, outcome, undo);
    if (outcome.status === 'shadowed' || outcome.verified) return { status: 'done' };
    const reason = `${action} reported success, but the identity system does not show its effect`;
    c.record({ stage: stage.stage, event: 'action.failed', actor: 'cordon', action, reason });
    return { status: 'failed', reason };
  }
  if (outcome.status !== 'refused') return { status: outcome.status };
  c.record({ stage: stage.stage, event: 'action.refused', actor: 'cordon', action, reason: outcome.reason });
  return { status: 'refused', reason: outcome.reason };
}

/** How a wait for the kill switch's release goes. */
export interface ReleaseWait {
  stage: string;
  /** How many times this step was held already (0: the first, which is audited and notified). */
  attempt: number;
  /** A false positive ends the wait (an action); an undo waits regardless. */
  endsOnFalsePositive: boolean;
}

/**
 * Waits while the kill switch is engaged: until the release is signalled, or after a backoff.
 * Returns false when a false positive ends the wait.
 */
export async function waitForRelease(c: Case, { stage, attempt, endsOnFalsePositive }: ReleaseWait): Promise<boolean> {
  if (attempt === 0) {
    c.record({
      stage,
      event: 'kill-switch.blocked',
      actor: 'kill-switch',
      reason: 'kill switch engaged: no new action starts',
    });
    c.notify('kill-switch-engaged');
  }
  c.status.waitingFor = 'kill-switch';
  const backoff = KILL_SWITCH_BACKOFF_MS[Math.min(attempt, KILL_SWITCH_BACKOFF_MS.length - 1)];
  await c.waitFor(() => c.released || (endsOnFalsePositive && c.falsePositive), backoff);
  c.status.waitingFor = undefined;
  return !(endsOnFalsePositive && c.falsePositive);
}

/** Reads the identity as it is now (evidence only; a failure leaves it unread). */
export async function readIdentity(c: Case): Promise<SnapshotReading | undefined> {
  const sent = c.outbox.take();
  try {
    const { reading, receipt } = await bookkeeping.readIdentity({ target: c.target, outbox: sent });
    c.settle(sent, receipt);
    if ('snapshot' in reading) c.status.snapshot ??= reading.snapshot;
    return reading;
  } catch {
    c.outbox.putBack(sent);
    return undefined;
  }
}

/** One undo of a rollback: who asked and why; the last one also reads the identity afterwards. */
export interface UndoRun {
  actor: string;
  reason: string;
  snapshotAfter: boolean;
  cause?: HumanCause;
}

function recordUndone(
  c: Case,
  entry: Compensation,
  { actor, reason }: UndoRun,
  outcome: Extract<UndoOutcome, { status: 'undone' | 'shadowed' }>,
) {
  c.saga.done(entry);
  const shadowed = outcome.status === 'shadowed';
  if (shadowed) c.status.wouldDo!.push({ stage: entry.stage, action: `undo:${entry.action}`, decidedBy: actor });
  const result = shadowed ? { performed: false } : { changed: outcome.changed, detail: outcome.detail };
  const event = shadowed ? 'compensation.shadowed' : 'compensation.applied';
  const frameworks = shadowed ? [] : ['NIST CSF RS.MI-01'];
  c.record({
    stage: entry.stage,
    event,
    actor,
    reason,
    action: `undo:${entry.action}`,
    compensationRef: entry.ref,
    result,
    frameworks,
  });
}

function recordUndoFailed(c: Case, entry: Compensation, { actor }: UndoRun, error: string) {
  c.saga.fail(entry, error);
  c.record({
    stage: entry.stage,
    event: 'compensation.failed',
    actor,
    reason: error,
    action: `undo:${entry.action}`,
    compensationRef: entry.ref,
  });
}

/** Runs one undo, waiting out the kill switch; a failure is kept for a retry, never dropped. */
export async function undo(c: Case, entry: Compensation, run: UndoRun): Promise<SnapshotReading | undefined> {
  for (let attempt = 0; ; attempt++) {
    const outbox = c.outbox.take();
    c.released = false;
    let outcome: UndoOutcome;
    try {
      outcome = await undos.undoAction({
        target: c.target,
        action: entry.action,
        snapshotAfter: run.snapshotAfter,
        cause: run.cause,
        outbox,
      });
    } catch (err) {
      c.outbox.putBack(outbox);
      recordUndoFailed(c, entry, run, errorText(err));
      return undefined;
    }
    c.settle(outbox, outcome.receipt);
    if (outcome.status === 'kill-switch') {
      await waitForRelease(c, { stage: 'rollback', attempt, endsOnFalsePositive: false });
      continue;
    }
    if (outcome.status === 'refused') {
      recordUndoFailed(c, entry, run, outcome.reason);
      return undefined;
    }
    recordUndone(c, entry, run, outcome);
    return outcome.after;
  }
}
