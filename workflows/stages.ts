// The playbook's stages, each one function: observe, the containment steps (restrict, isolate,
// revoke, rotate), approval before a gated step, and the verification window.
import { digestOf } from '../src/digest';
import type { ActionName, Authority } from '../src/domain/case';
import { actionDigestOf } from '../src/domain/decisions';
import { durationMs } from '../src/policy/duration';
import type { PlannedStage } from '../src/policy/plan';
import type { StageName } from '../src/policy/stages';
import { act, readIdentity, waitForRelease } from './actions';
import type { Case } from './case';
import { rollBack } from './rollback';
import type { Compensation } from './saga';

/** Runs one stage; false when the plan stops here. */
export type StageRunner = (c: Case, stage: PlannedStage) => Promise<boolean>;

/** Opens the case: what the identity looked like, and who is told. Acts on nothing. */
async function observe(c: Case): Promise<boolean> {
  c.setStage('observe');
  if (!(await c.untilResumed())) return false;
  if (!c.status.snapshot) await readIdentity(c);
  const snapshot = c.status.snapshot;
  c.record({
    stage: 'observe',
    event: 'case.opened',
    actor: 'cordon',
    result: { snapshot: snapshot ? digestOf(snapshot) : 'unavailable' },
    frameworks: ['NIST CSF RS.MA-01'],
  });
  c.notify('case-opened');
  return true;
}

/** Waits out the verification window; a false positive ends it (and the plan). */
async function verificationWindow(c: Case, stage: PlannedStage): Promise<boolean> {
  c.setStage(stage.stage);
  if (!(await c.untilResumed())) return false;
  const window = stage.window ?? '15m';
  c.status.waitingFor = 'verify-window';
  await c.waitFor(() => c.falsePositive, durationMs(window));
  c.status.waitingFor = undefined;
  if (c.falsePositive) return false;
  // The audit shows the watch ended clean: the later, harder stages rest on it.
  c.record({
    stage: stage.stage,
    event: 'window.elapsed',
    actor: 'cordon',
    reason: `no false positive within ${window}`,
    frameworks: ['NIST CSF DE.CM-09'],
  });
  return true;
}

/**
 * One containment step (restrict, isolate, revoke, rotate): approval first where the plan (or an
 * exhausted budget) requires it, then the action. The kill switch holds it until released.
 */
async function containmentStep(c: Case, stage: PlannedStage): Promise<boolean> {
  c.setStage(stage.stage);
  let authority: Authority | undefined = stage.requiresApproval ? undefined : { by: 'policy' };
  let undo: Compensation | undefined;
  for (let heldBySwitch = 0; ;) {
    authority ??= await approval(c, stage);
    if (!authority || !(await c.untilResumed())) return false;
    undo ??= stage.reversible ? c.saga.register(stage.stage, stage.action as ActionName) : undefined;
    c.released = false;
    const { status, reason } = await act(c, stage, authority, undo);
    if (status === 'done') return true;
    if (status === 'kill-switch') {
      if (!(await waitForRelease(c, { stage: stage.stage, attempt: heldBySwitch++, endsOnFalsePositive: true })))
        return false;
    } else if (status === 'over-budget' && authority.by === 'policy') {
      c.record({
        stage: stage.stage,
        event: 'budget.exceeded',
        actor: 'cordon',
        reason: 'destructive-action budget spent: approval required',
      });
      authority = undefined;
    } else if (status === 'over-budget') {
      c.record({
        stage: stage.stage,
        event: 'budget.exceeded',
        actor: 'cordon',
        reason: 'unapproved action over budget: held',
      });
      c.setStage(stage.stage, 'held');
      c.notify('needs-attention', { reason: 'over the destructive-action budget without approval' });
      return false;
    } else if (status === 'refused') {
      c.needsAttention(`${stage.stage} refused by the worker: ${reason}`);
      return false;
    } else {
      await failed(c, stage, reason ?? 'failed');
      return false;
    }
  }
}

// A step that failed: rolled back or held for a human, as the stage's rule says.
async function failed(c: Case, stage: PlannedStage, reason: string): Promise<void> {
  if (stage.onFailure === 'rollback') await rollBack(c, 'cordon', `${stage.action} failed`, 'rolled-back');
  else c.needsAttention(`${stage.action} failed: ${reason}`);
}

/**
 * Asks for approval of `stage` and applies the answer. Returns the authority the action then
 * runs on, or undefined when it must not run (denied, timed out, interrupted).
 */
async function approval(c: Case, stage: PlannedStage): Promise<Authority | undefined> {
  const actionDigest = actionDigestOf({
    provider: c.target.provider,
    identityId: c.target.identityId,
    caseId: c.target.caseId,
    stage: stage.stage,
    action: stage.action,
    policyDigest: c.plan?.policyDigest,
  });
  const lapseUntil = stage.approval.onTimeout === 'lapse' ? Date.now() + durationMs(stage.approval.maxHold) : undefined;
  c.status.waitingFor = 'approval';
  const outcome = await c.gate.ask(stage, actionDigest, () => c.falsePositive, lapseUntil);
  c.status.waitingFor = undefined;
  const request = c.gate.lastRequest!;
  if (outcome === 'approved')
    return {
      by: 'approvers',
      requestId: request.requestId,
      actionDigest,
      approvers: request.approvals.map((a) => a.approver),
    };
  if (outcome === 'denied') {
    const cause = { kind: 'deny', decisionId: c.gate.denial?.decisionId } as const;
    if (stage.onDeny === 'rollback') await rollBack(c, 'approver', `${stage.stage} denied`, 'rolled-back', cause);
    else c.setStage(stage.stage, 'held');
    return undefined;
  }
  if (outcome === 'timed-out') return timedOut(c, stage, request.requestId);
  return undefined;
}

// The stage's on-timeout rule: proceed (on the timeout's authority), or stop the plan.
async function timedOut(c: Case, stage: PlannedStage, requestId: string): Promise<Authority | undefined> {
  const rule = stage.approval.onTimeout;
  if (rule === 'proceed') return { by: 'timeout', requestId, rule };
  if (rule === 'rollback' || rule === 'lapse')
    await rollBack(c, 'cordon', `approval for ${stage.stage} timed out (${rule})`, 'rolled-back');
  else if (rule === 'abort') c.setStage(stage.stage, 'aborted');
  else {
    c.setStage(stage.stage, 'held');
    c.notify('needs-attention', { reason: `approval for ${stage.stage} timed out: held` });
  }
  return undefined;
}

/** The playbook, in the seeds' order: which function runs each planned stage. */
export const PLAYBOOK: Record<StageName, StageRunner> = {
  observe,
  restrict: containmentStep,
  isolate: containmentStep,
  'verify-window': verificationWindow,
  revoke: containmentStep,
  rotate: containmentStep,
};
