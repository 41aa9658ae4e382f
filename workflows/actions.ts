// A case's provider actions and undos: one activity each, which also delivers the case's outbox.
import { digestOf } from '../src/digest';
import type { ActionName, ActionOutcome, Authority, SnapshotReading } from '../src/domain/case';
import { owaspReferences } from '../src/audit/frameworks';
import type { PlannedStage } from '../src/policy/plan';
import type { Case } from './case';
import type { Compensation } from './saga';
import { actions, undos } from './steps';

/** What became of an action step, as the stage sees it; `reason` says why it did not happen. */
export interface ActionResult {
  status: Exclude<ActionOutcome['status'], 'applied' | 'shadowed'> | 'done' | 'failed';
  reason?: string;
}

// A held case tries again after these waits (or at once when the release is signalled).
const KILL_SWITCH_BACKOFF_MS = [1_000, 5_000, 30_000, 120_000, 300_000];

const errorText = (err: unknown) => ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;

/** Who allowed an action, as the audit names it. */
export function actorOf(c: Case, authority: Authority): string {
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
  const outbox = c.outbox();
  let outcome: ActionOutcome;
  try {
    outcome = await actions.actOnIdentity({
      target: c.target,
      stage: stage.stage,
      action,
      alerts: c.ledger.alerts,
      policyDigest: c.plan!.policyDigest,
      authority,
      outbox,
    });
  } catch (err) {
    c.unsent(outbox);
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

/**
 * Waits while the kill switch is engaged: until the release is signalled, or after a backoff.
 * Returns false when a false positive ends the wait (`stopOnFalsePositive`).
 */
export async function waitForRelease(
  c: Case,
  stage: string,
  attempt: number,
  stopOnFalsePositive: boolean,
): Promise<boolean> {
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
  c.released = false;
  const backoff = KILL_SWITCH_BACKOFF_MS[Math.min(attempt, KILL_SWITCH_BACKOFF_MS.length - 1)];
  await c.waitFor(() => c.released || (stopOnFalsePositive && c.falsePositive), backoff);
  c.status.waitingFor = undefined;
  return !(stopOnFalsePositive && c.falsePositive);
}

/** Runs one undo; the last of a rollback also reads the identity afterwards. */
export async function undo(c: Case, entry: Compensation, snapshotAfter: boolean, actor: string, reason: string) {
  for (let attempt = 0; ; attempt++) {
    const outbox = c.outbox();
    try {
      const outcome = await undos.undoAction({ target: c.target, action: entry.action, snapshotAfter, outbox });
      c.settle(outbox, outcome.receipt);
      if (outcome.status === 'kill-switch') {
        await waitForRelease(c, 'rollback', attempt, false);
        continue;
      }
      if (outcome.status === 'refused') throw new Error(outcome.reason);
      c.saga.done(entry);
      const shadowed = outcome.status === 'shadowed';
      if (shadowed) c.status.wouldDo!.push({ stage: entry.stage, action: `undo:${entry.action}`, decidedBy: actor });
      const result = shadowed ? { performed: false } : { changed: outcome.changed, detail: outcome.detail };
      c.record({
        stage: entry.stage,
        event: shadowed ? 'compensation.shadowed' : 'compensation.applied',
        actor,
        reason,
        action: `undo:${entry.action}`,
        compensationRef: entry.ref,
        result,
        ...(!shadowed && { frameworks: ['NIST CSF RS.MI-01'] }),
      });
      return outcome.after;
    } catch (err) {
      c.unsent(outbox);
      c.saga.fail(entry, errorText(err));
      c.record({
        stage: entry.stage,
        event: 'compensation.failed',
        actor,
        reason: entry.error,
        action: `undo:${entry.action}`,
        compensationRef: entry.ref,
      });
      return undefined;
    }
  }
}
