import { allHandlersFinished, condition, continueAsNew, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ActionName } from '../activities/connectors/types';
import { canonicalJson, digestOf } from '../src/digest';
import { durationMs } from '../src/policy/duration';
import { escalatePlan, plan as planFor, type PlannedStage } from '../src/policy/plan';
import { owaspReferences } from '../src/audit/frameworks';
import { OUTCOME, SEVERITY, STAGE } from '../src/temporal/searchAttributes';
import { bookkeeping, identitySystem } from './activities';
import { ApprovalGate } from './approvalGate';
import { governorPermits, KILL_SWITCH_BY_QUERY } from './askGovernor';
import { OpeningReads, OPENING_READS_TOGETHER } from './openingReads';
import { AuditTrail } from './auditTrail';
import { AlertLedger } from './alertLedger';
import { Containment } from './containment';
import type { ApprovalRequest, ContainIdentityInput, ContainmentStatus, NotificationKind, Outcome } from './definitions';
import { isShadowWorkflowId } from './definitions';
import { Saga, type Compensation } from './saga';
import { actInShadow, forwardToShadowCase, markShadow, ShadowSaga } from './shadowMode';

const PERFORM = {
  restrict: identitySystem.restrictIdentity,
  isolate: identitySystem.isolateIdentity,
  revoke: identitySystem.revokeCredential,
  rotate: identitySystem.rotateCredential,
} as const;
const SEVERITY_ORDER = ['low', 'medium', 'high', 'critical'];
const MAX_HISTORY_EVENTS = 10_000;
/** Patch id: an action whose post-condition does not verify fails its stage. */
const UNVERIFIED_ACTION_FAILS = 'unverified-action-fails-stage';
/** Patch id: a case paused while holding a permit reads the kill switch again before acting. */
const SWITCH_RECHECKED_AFTER_PAUSE = 'switch-rechecked-after-pause';

/**
 * Contains one identity: plans from its alerts, then runs the plan's stages smallest first,
 * gating those that need approval, undoing reversible steps on a false positive, a denial or a
 * failure the policy rolls back, and keeping the case open for late evidence.
 */
export async function containIdentity(input: ContainIdentityInput): Promise<ContainmentStatus> {
  const { identity, carried } = input;
  // A shadow (dry-run) case: see shadowMode.ts. Real cases never take its branches. The workflow
  // id decides, so a hand-started `contain:` case can never run dry (swallowing real alerts) and
  // a `shadow:contain:` case can never act for real, whatever its input says.
  const shadow = isShadowWorkflowId(workflowInfo().workflowId);
  // The case id scopes what connectors capture for undo to this containment (across continue-as-new).
  const target = { provider: identity.provider, identityId: identity.id, caseId: workflowInfo().firstExecutionRunId };
  const audit = new AuditTrail(`${identity.provider}:${identity.id}`, carried?.audit, shadow);
  const ledger = new AlertLedger(identity, carried?.status.alerts, carried?.status.rejectedInputs, shadow);
  const saga = shadow ? new ShadowSaga(target, audit, carried?.status.compensations, (a) => c.status.wouldDo!.push(a)) : new Saga(target, audit, carried?.status.compensations);
  const gate: ApprovalGate = new ApprovalGate(audit, (kind, request) => notify(kind, request), (done, timeout) => c.wait(done, timeout));
  const c: Containment = new Containment(identity, audit, ledger, saga, gate, carried);
  if (shadow) markShadow(c.status);
  const historyLimit = input.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;
  if (input.alert) c.receiveAlert(input.alert);
  // New evidence or a false positive the main flow has not acted on yet (none after a false positive).
  const unhandledInput = () => !c.falsePositiveHandled && (ledger.hasNew() || c.falsePositive);

  // A notification that cannot be delivered is audited; it never stops the containment.
  async function notify(kind: NotificationKind, request?: ApprovalRequest): Promise<void> {
    const { workflowId, runId } = workflowInfo();
    try {
      await bookkeeping.notifyApprovers({ kind, workflowId, runId, identity, stage: c.status.stage, outcome: c.status.outcome, request, ...(shadow && { shadow: true as const }) });
      audit.record({ stage: c.status.stage, event: `notified.${kind}`, actor: 'cordon', frameworks: ['NIST CSF RS.CO-02'] });
    } catch (err) {
      audit.record({ stage: c.status.stage, event: 'notify.failed', actor: 'cordon', reason: `${kind}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}` });
    }
  }

  const index = (pairs: Parameters<typeof upsertSearchAttributes>[0]) => {
    if (input.searchAttributes !== false) upsertSearchAttributes(pairs);
  };

  function setStage(stage: string, outcome: Outcome = c.status.outcome): void {
    Object.assign(c.status, { stage, outcome });
    // A dry run's outcome is prefixed, so a search for real outcomes never counts it.
    index([{ key: STAGE, value: stage }, { key: OUTCOME, value: shadow ? `shadow:${outcome}` : outcome }]);
  }

  // Folds newly received alerts into the plan; stages are only ever added.
  function replan(): boolean {
    const fresh = ledger.takeNew();
    if (!fresh.length || !c.context) return false;
    let added = false;
    for (const alert of fresh) {
      const next = planFor(alert, c.context.record, c.context.policy);
      if (!c.status.plan) {
        c.status.plan = next;
        audit.record({ stage: c.status.stage, event: 'plan.created', actor: `policy:${next.rule}`, reason: next.reasons.join('; '), result: { rule: next.rule, stages: next.stages.map((s) => s.stage) }, alertIds: [alert.id] });
        added = true;
        continue;
      }
      const escalated = escalatePlan(c.status.plan, next);
      c.status.plan = escalated.plan;
      if (escalated.added.length || escalated.gated.length) {
        added ||= escalated.added.length > 0;
        audit.record({ stage: c.status.stage, event: 'plan.escalated', actor: `policy:${next.rule}`, reason: `alert ${alert.id}`, result: { added: escalated.added, gated: escalated.gated }, alertIds: [alert.id] });
      }
    }
    const worst = ledger.alerts.map((a) => a.severity).sort((a, b) => SEVERITY_ORDER.indexOf(b) - SEVERITY_ORDER.indexOf(a))[0];
    if (worst) index([{ key: SEVERITY, value: worst }]);
    return added;
  }

  // A new case reads the kill switch and the identity while its context loads.
  let opening: OpeningReads | undefined;
  const permit = governorPermits(c, audit, shadow, async () => opening?.takeKillSwitch());
  // The snapshot taken at the case's start, until used or dropped; else a new one.
  const snapshotNow = async () => (await opening?.takeSnapshot()) ?? (await identitySystem.snapshotIdentity(target));

  async function rollBack(actor: string, reason: string, outcome: Outcome): Promise<void> {
    setStage('rollback');
    await permit({ stage: 'rollback' }, true, false);
    if (!(await saga.unwind(actor, reason))) {
      setStage('rollback', 'needs-attention');
      await notify('needs-attention');
      return;
    }
    const after = await identitySystem.snapshotIdentity(target).catch(() => undefined);
    // Observed evidence (sessions, last use) changes by itself; the restorable state must match.
    const restorable = (snapshot: Record<string, unknown>) => canonicalJson({ ...snapshot, observed: undefined });
    // A dry run changed nothing; a real case may have changed the identity meanwhile.
    const restored = shadow || c.status.snapshot === undefined || (after !== undefined && restorable(after) === restorable(c.status.snapshot));
    audit.record({ stage: 'rollback', event: 'identity.restored', actor, reason, result: { restored, before: c.status.snapshot, after } });
    setStage('rolled-back', restored ? outcome : 'needs-attention');
  }

  // `decidedBy` is who allowed this action: the approvers, or the policy rule that made it automatic.
  async function act(stage: PlannedStage, decidedBy: string): Promise<boolean> {
    if (shadow) return actInShadow(stage, decidedBy, { target, status: c.status, audit, saga, ledger });
    const action = stage.action as ActionName;
    let undo: Compensation | undefined;
    try {
      const before = await snapshotNow();
      c.status.snapshot ??= before;
      audit.record({ stage: stage.stage, event: 'evidence.captured', actor: 'cordon', result: { snapshot: digestOf(before) }, frameworks: ['NIST CSF RS.AN-03'] });
      undo = stage.reversible ? saga.register(stage.stage, action) : undefined;
      const result = await PERFORM[action as keyof typeof PERFORM](target);
      const verified = await identitySystem.verifyAction({ ...target, action });
      c.status.applied.push({ stage: stage.stage, action, changed: result.changed, verified, detail: result.detail });
      audit.record({
        stage: stage.stage,
        event: 'action.applied',
        actor: decidedBy,
        action,
        result: { ...result, verified },
        compensationRef: undo?.ref,
        alertIds: ledger.alerts.map((a) => a.id),
        frameworks: [stage.reversible ? 'NIST CSF RS.MI-01' : 'NIST CSF RS.MI-02', ...owaspReferences(ledger.alerts.map((a) => a.kind))],
      });
      // An effect the identity system does not show is not containment: the stage fails. Runs
      // recorded before this rule replay as they ran (they counted it as done).
      if (!verified && patched(UNVERIFIED_ACTION_FAILS)) throw new Error(`${action} reported success, but the identity system does not show its effect`);
      return true;
    } catch (err) {
      const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      audit.record({ stage: stage.stage, event: 'action.failed', actor: 'cordon', action, reason });
      if (stage.onFailure === 'rollback') await rollBack('cordon', `${action} failed`, 'rolled-back');
      else {
        setStage(stage.stage, 'needs-attention');
        await notify('needs-attention');
      }
      return false;
    }
  }

  // A pause holds every new action; a false positive overrides it. Readings from the case's
  // start do not outlast a pause.
  async function untilResumed(): Promise<void> {
    if (c.status.paused) opening = undefined;
    await c.wait(() => !c.status.paused || c.falsePositive);
  }

  // Returns true when the stage completed; false when the plan stops here.
  async function runStage(stage: PlannedStage): Promise<boolean> {
    setStage(stage.stage);
    await untilResumed();
    if (c.falsePositive) return false;
    if (stage.stage === 'observe') {
      // Evidence is best effort here: a case opens even when the identity system is down.
      const snapshot = await snapshotNow().catch(() => undefined);
      c.status.snapshot ??= snapshot;
      audit.record({ stage: 'observe', event: 'case.opened', actor: 'cordon', result: { snapshot: snapshot ? digestOf(snapshot) : 'unavailable' }, frameworks: ['NIST CSF RS.MA-01'] });
      await notify('case-opened');
      return true;
    }
    if (stage.stage === 'verify-window') {
      c.status.waitingFor = 'verify-window';
      await c.wait(() => c.falsePositive, durationMs(stage.window ?? '15m'));
      c.status.waitingFor = undefined;
      return !c.falsePositive;
    }
    // Who allows this action: the policy rule when automatic, else the approvers.
    let decidedBy = `policy:${c.status.plan?.rule}`;
    let automatic = false;
    if (!stage.requiresApproval) {
      const decision = await permit(stage, false, true);
      if (decision === 'stopped') return false;
      if (decision === 'over-budget') audit.record({ stage: stage.stage, event: 'governor.over-budget', actor: 'governor', reason: 'destructive-action budget spent: approval required' });
      automatic = decision === 'granted';
    }
    if (!automatic) {
      // An approval can come at any time: whatever the case read at its start is read again.
      opening = undefined;
      const digest = digestOf({ identity, stage: stage.stage, action: stage.action, policyDigest: c.status.plan?.policyDigest });
      const lapseUntil = stage.approval.onTimeout === 'lapse' ? Date.now() + durationMs(stage.approval.maxHold) : undefined;
      const outcome = await gate.await(stage, digest, () => c.falsePositive, lapseUntil);
      if (outcome === 'interrupted') return false;
      if (outcome === 'denied') {
        if (stage.onDeny === 'rollback') await rollBack('approver', `${stage.stage} denied`, 'rolled-back');
        else setStage(stage.stage, 'held');
        return false;
      }
      if (outcome === 'timed-out') {
        const rule = stage.approval.onTimeout;
        if (rule === 'rollback' || rule === 'lapse') await rollBack('cordon', `approval for ${stage.stage} timed out (${rule})`, 'rolled-back');
        else if (rule === 'abort') setStage(stage.stage, 'aborted');
        else if (rule === 'hold') {
          setStage(stage.stage, 'held');
          await notify('needs-attention');
        }
        if (rule !== 'proceed') return false;
        decidedBy += ' (approval timed out: proceed)';
      } else {
        decidedBy = `approvers:${gate.lastApprovals.map((a) => a.approver).join(',')}`;
      }
      // Only a real approval lifts the budget; proceeding on timeout does not.
      const decision = await permit(stage, outcome === 'approved', true);
      if (decision === 'stopped') return false;
      if (decision === 'over-budget') {
        audit.record({ stage: stage.stage, event: 'governor.over-budget', actor: 'governor', reason: 'unapproved action over budget: held' });
        setStage(stage.stage, 'held');
        await notify('needs-attention');
        return false;
      }
    }
    // A pause can outlast the permit, and the kill switch may be engaged meanwhile: after the
    // resume the case asks again, about the switch only, since any budget is already spent.
    while (c.status.paused && !c.falsePositive && patched(SWITCH_RECHECKED_AFTER_PAUSE)) {
      c.status.waitingFor = 'resume';
      await untilResumed();
      c.status.waitingFor = undefined;
      if (!c.falsePositive && (await permit(stage, true, true, true)) === 'stopped') return false;
    }
    await untilResumed();
    if (c.falsePositive) return false;
    return act(stage, decidedBy);
  }

  async function runPlan(): Promise<void> {
    for (;;) {
      replan();
      const stage = c.status.plan?.stages.find((s) => !c.completed.has(s.stage));
      if (!stage) return setStage('contained', 'contained');
      const completed = await runStage(stage);
      c.checkpoint();
      if (!completed) return;
      c.completed.add(stage.stage);
    }
  }

  // The case stays open for late evidence, a false positive or retried undos, then closes.
  // While an undo has failed it never closes on its own: a human must look.
  async function holdCase(): Promise<'escalated' | 'false-positive' | 'closed'> {
    const until = c.caseHoldUntil ?? Date.now() + durationMs(c.context!.policy.caseHold);
    c.caseHoldUntil = until;
    for (;;) {
      const wake = () => unhandledInput() || c.retryCompensations || tooLong();
      const woke = await c.wait(wake, saga.failed ? undefined : Math.max(0, until - Date.now()));
      if (!woke) return 'closed';
      if (c.falsePositive && !c.falsePositiveHandled) return 'false-positive';
      if (c.retryCompensations) {
        c.retryCompensations = false;
        await rollBack(c.retriedBy, 'compensations retried', c.falsePositiveHandled ? 'false-positive' : 'rolled-back');
        if (c.falsePositiveHandled && !saga.failed) return 'closed';
        continue;
      }
      if (ledger.hasNew()) {
        if (replan() && c.status.outcome === 'contained') {
          c.caseHoldUntil = undefined;
          setStage('escalated', 'active');
          return 'escalated';
        }
        continue;
      }
      await c.drainAudit();
      await condition(allHandlersFinished);
      // Input that arrived while draining is handled here, not lost in the hand-over.
      if (unhandledInput() || c.retryCompensations) continue;
      await continueAsNew<typeof containIdentity>({ ...input, alert: undefined, carried: c.carry() });
    }
  }

  await c.wait(() => ledger.alerts.length > 0 || c.falsePositive);
  if (!shadow && !carried && patched(OPENING_READS_TOGETHER)) opening = new OpeningReads(target);
  // A continued run keeps its context: a policy edit cannot strand it with undos outstanding.
  c.useContext(carried?.context ?? (await bookkeeping.loadContainmentContext(identity)));
  if (!shadow && c.context!.policy.shadow) return forwardToShadowCase(c, ledger, audit, input, setStage);
  if (!patched(KILL_SWITCH_BY_QUERY)) await bookkeeping.ensureGovernor();
  for (;;) {
    if (!c.falsePositive && c.status.outcome === 'active') await runPlan();
    if (c.falsePositive && !c.falsePositiveHandled) {
      c.falsePositiveHandled = true;
      const { by, reason } = c.status.falsePositive!;
      await rollBack(by, reason ?? 'false positive', 'false-positive');
    }
    const settled = c.falsePositiveHandled && !saga.failed;
    if (!settled && (await holdCase()) !== 'closed') continue;
    // Closing: let in-flight handlers finish; late evidence or a false positive reopens the case.
    await c.drainAudit();
    await condition(allHandlersFinished);
    if (!unhandledInput()) break;
  }
  setStage('closed', c.status.outcome);
  await c.drainAudit();
  return c.status;
}
