import { setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { IdentityRef } from '../src/domain/alert';
import type {
  CaseOpening,
  HumanCause,
  ContainmentContext,
  IdentityTarget,
  Notice,
  NotificationKind,
  Outbox,
  OutboxReceipt,
} from '../src/domain/case';
import { isShadowWorkflowId } from '../src/domain/case';
import type { Refusal } from '../src/domain/decisions';
import { briefMarkdown, type CaseBrief } from '../src/domain/caseBrief';
import { caseBrief } from './caseBrief';
import { durationMs } from '../src/policy/duration';
import { policyDigest, type Plan, type PlannedStage } from '../src/policy/plan';
import { IRREVERSIBLE_STAGES, type StageName } from '../src/policy/stages';
import { AlertLedger, MAX_REJECTED } from './alertLedger';
import { ApprovalGate } from './approvalGate';
import { AuditTrail, type AuditEvent } from './auditTrail';
import { continueCase, historyTooLong } from './continuation';
import type { CarriedState, ContainIdentityInput, ContainmentStatus, Outcome } from './definitions';
import { Saga } from './saga';
import { CaseOutbox } from './caseOutbox';
import { SearchIndex } from './searchIndex';

// Approvers hear of refused claims at most this often per case: a flood of forged signals must
// not become a flood of messages.
const REFUSAL_NOTICE_EVERY_MS = 5 * 60_000;

/**
 * One containment case: its state and the only code that changes it. Signal handlers
 * (caseInputs.ts) record; the playbook (containIdentity.ts) acts through the methods here.
 */
export class Case {
  readonly identity: IdentityRef;
  readonly target: IdentityTarget;
  /** A dry run: the workflow id decides, whatever the input says. */
  readonly shadow: boolean;
  readonly status: ContainmentStatus;
  readonly audit: AuditTrail;
  readonly ledger: AlertLedger;
  readonly saga: Saga;
  readonly gate: ApprovalGate;
  /** What the case queued for the store and the approvers, and how it is delivered. */
  readonly outbox: CaseOutbox;
  context?: ContainmentContext;
  /** Set by `retryCompensations`: who asked. */
  retryRequestedBy?: string;
  /** Set by `killSwitchReleased`: a case held by the switch tries again. */
  released = false;
  /** The authenticated false positive, when it came through the decision API. */
  falsePositiveDecisionId?: string;
  /** The human decision the last rollback answered (a retried undo carries it again). */
  rollbackCause?: HumanCause;
  private lastRefusalNotice?: number;
  private readonly completed: Set<string>;
  private holdUntil?: number;
  private falsePositiveSettled: boolean;
  private readonly searchIndex: SearchIndex;

  constructor(input: ContainIdentityInput) {
    const { identity, carried } = input;
    this.identity = identity;
    this.shadow = isShadowWorkflowId(workflowInfo().workflowId);
    this.target = { provider: identity.provider, identityId: identity.id, caseId: workflowInfo().firstExecutionRunId };
    const name = `${identity.provider}:${identity.id}`;
    this.audit = new AuditTrail(name, carried?.audit, this.shadow, carried?.unstoredAudit);
    const { alerts, rejectedInputs } = carried?.status ?? {};
    this.ledger = new AlertLedger(identity, alerts, rejectedInputs, this.shadow, carried?.ledger);
    // Shed alerts are reported with the next delivery, one entry for however many were shed.
    this.outbox = new CaseOutbox(
      this.audit,
      identity,
      this.shadow,
      {
        pending: () => this.ledger.limits.hasUnreported(),
        record: () => this.reportShedAlerts(),
      },
      carried?.unsentNotices,
    );
    this.searchIndex = new SearchIndex(input.searchAttributes !== false, this.shadow);
    this.saga = new Saga(this.audit, carried?.status.compensations);
    this.gate = new ApprovalGate(
      this.audit,
      (kind, request) => this.notify(kind, { request }),
      (done, timeout) => this.waitFor(done, timeout),
      (what, refusal) => this.refuseInput(what, refusal, undefined, true),
      { due: () => historyTooLong(input), now: (decided) => continueCase(this, input, () => !decided()) },
      { opened: carried?.requestsOpened, pending: carried?.approval },
    );
    this.status = carried?.status ?? this.freshStatus();
    this.completed = new Set(carried?.completedStages);
    this.holdUntil = carried?.caseHoldUntil;
    this.rollbackCause = carried?.rollbackCause;
    this.falsePositiveSettled = carried?.falsePositiveHandled ?? false;
    if (this.shadow) Object.assign(this.status, { shadow: true, wouldDo: this.status.wouldDo ?? [] });
    const context = carried?.context ?? input.context;
    if (context) this.useContext(context);
  }

  private freshStatus(): ContainmentStatus {
    const status: ContainmentStatus = {
      identity: this.identity,
      stage: 'waiting-for-alert',
      outcome: 'active',
      paused: false,
      alerts: this.ledger.alerts,
      rejectedInputs: this.ledger.rejected,
      applied: [],
      compensations: this.saga.compensations,
    };
    return status;
  }

  /** True once a valid `falsePositive` arrived. */
  get falsePositive(): boolean {
    return this.status.falsePositive !== undefined;
  }

  /** A false positive arrived that no rollback has answered yet. */
  get falsePositivePending(): boolean {
    return this.falsePositive && !this.falsePositiveSettled;
  }

  /** Marks the false positive as answered (its rollback ran). */
  settleFalsePositive(): void {
    this.falsePositiveSettled = true;
  }

  /** A false positive was answered and every undo ran: nothing is left for the case to do. */
  get settled(): boolean {
    return this.falsePositiveSettled && !this.saga.failed;
  }

  /** Input the playbook has not acted on yet: new evidence, or an unanswered false positive. */
  hasUnhandledInput(): boolean {
    return !this.falsePositiveSettled && (this.ledger.hasNew() || this.falsePositive);
  }

  /** Appends an audit entry; it is stored with the case's next step. */
  record(event: AuditEvent): void {
    this.audit.record(event);
  }

  private reportShedAlerts(): void {
    const report = this.ledger.limits.takeReport(this.status.stage);
    if (report) this.record(report);
  }

  /** Queues a notification, with the case's brief; it is delivered with the case's next step. */
  notify(kind: NotificationKind, extra: Pick<Notice, 'request' | 'reason'> = {}): void {
    const brief = this.brief();
    this.outbox.notify(kind, { ...extra, stage: this.status.stage, outcome: this.status.outcome, brief });
  }

  /** Waits like `condition`, delivering what the case records meanwhile (see CaseOutbox). */
  waitFor(done: () => boolean, timeoutMs?: number): Promise<boolean> {
    this.refreshDetails();
    return this.outbox.waitFor(done, timeoutMs, () => this.status.stage);
  }

  /** What an approver needs to see: state, what waits, why, who is hit. */
  brief(): CaseBrief {
    return caseBrief(this, this.holdUntil);
  }

  /** Keeps the Web UI's current details (the case page) in step with the case. */
  refreshDetails(): void {
    setCurrentDetails(briefMarkdown(this.brief()));
  }

  /** Delivers everything the case queued (before it waits). */
  flush(): Promise<void> {
    return this.outbox.flush(() => this.status.stage);
  }

  /** Delivers everything for the last time in this run (it closes or continues as new). */
  finishDeliveries(): Promise<void> {
    this.outbox.giveUpRetries(this.status.stage);
    return this.flush();
  }

  /** Takes a step's receipt (see CaseOutbox). */
  settle(sent: Outbox, receipt: OutboxReceipt): void {
    this.outbox.settle(sent, receipt, this.status.stage);
  }

  /** Holds while paused: true once resumed, false when a false positive ends the wait. */
  async untilResumed(): Promise<boolean> {
    if (this.status.paused) {
      this.status.waitingFor = 'resume';
      await this.waitFor(() => !this.status.paused || this.falsePositive);
      this.status.waitingFor = undefined;
    }
    return !this.falsePositive;
  }

  /** Installs the policy and inventory record the case plans with. */
  useContext(context: ContainmentContext): void {
    this.context = context;
    this.audit.policy = { version: context.policy.version, digest: policyDigest(context.policy) };
    this.ledger.limits.use(context.policy.caseLimits);
    this.gate.useDirectory({
      approverGroups: context.policy.approverGroups,
      owner: context.record?.owner,
      mode: context.policy.decisions?.mode ?? 'claimed',
    });
  }

  /**
   * A refused input: shown in status (the latest ones), audited unless the caller did, and an
   * unverified claim in a person's name is told to the approvers.
   */
  refuseInput(what: string, refusal: Refusal, by?: string, audited = false): void {
    const rejected = this.ledger.rejected;
    rejected.push({ reason: `${what}: ${refusal.reason}`, code: refusal.code, ...(by !== undefined && { by }) });
    if (rejected.length > MAX_REJECTED) rejected.splice(0, rejected.length - MAX_REJECTED);
    if (!audited)
      this.record({
        stage: this.status.stage,
        event: refusal.code === 'unverified' ? 'decision.unverified' : 'decision.rejected',
        actor: by ?? 'unknown',
        reason: refusal.reason,
        result: { input: what, code: refusal.code },
      });
    const quiet = this.lastRefusalNotice !== undefined && Date.now() - this.lastRefusalNotice < REFUSAL_NOTICE_EVERY_MS;
    if (refusal.code === 'unverified' && !quiet) {
      this.lastRefusalNotice = Date.now();
      this.notify('decision-refused', { reason: `${what}: ${refusal.reason}`.slice(0, 300) });
    }
  }

  /** Takes the opening activity's answer: context, and the identity as found. */
  opened(opening: CaseOpening): void {
    const { policy, record, unresolved } = opening;
    this.useContext({ policy, record, ...(unresolved !== undefined && { unresolved }) });
    if ('snapshot' in opening.reading) this.status.snapshot ??= opening.reading.snapshot;
  }

  /** Moves the case and its search attributes; a dry run's outcome is prefixed. */
  setStage(stage: string, outcome: Outcome = this.status.outcome): void {
    Object.assign(this.status, { stage, outcome });
    if (outcome !== 'needs-attention') this.status.attention = undefined;
    this.updateSearchIndex();
  }

  /** Stops the case for a human, saying why in status, search attributes and a notification. */
  needsAttention(reason: string): void {
    this.setStage(this.status.stage, 'needs-attention');
    this.status.attention = reason;
    this.updateSearchIndex();
    this.notify('needs-attention', { reason });
  }

  /** Brings the search attributes and the case page up to date with status and alerts. */
  updateSearchIndex(): void {
    this.searchIndex.update(this.status, this.ledger.alerts);
    this.refreshDetails();
  }

  /** The next planned stage not completed yet. */
  nextStage(): PlannedStage | undefined {
    return this.status.plan?.stages.find((s) => !this.completed.has(s.stage));
  }

  /** Marks a stage as done in this round. */
  complete(stage: StageName): void {
    this.completed.add(stage);
  }

  /**
   * Starts a new round after the case stopped short of containment (rolled back, denied, held,
   * aborted): the plan's stages run again under the policy, from the smallest.
   */
  newRound(reason: string): void {
    // A rolled-back case runs its undone steps again; what cannot be undone, or still holds, stays done.
    if (this.status.outcome === 'rolled-back') {
      for (const stage of [...this.completed])
        if (stage !== 'observe' && !IRREVERSIBLE_STAGES.includes(stage as StageName)) this.completed.delete(stage);
    }
    this.holdUntil = undefined;
    this.record({
      stage: this.status.stage,
      event: 'round.started',
      actor: 'cordon',
      reason,
      alertIds: this.ledger.alerts.map((a) => a.id),
    });
    this.setStage('escalated', 'active');
  }

  /** When the case stops waiting for late evidence (fixed once, kept across continue-as-new). */
  holdDeadline(): number {
    this.holdUntil ??= Date.now() + durationMs(this.context!.policy.caseHold);
    return this.holdUntil;
  }

  /**
   * The state a continued run starts from. What is not delivered yet goes with it, for its first
   * delivery: a run that delivered before it continued could be kept waiting by a flood of input.
   */
  carry(): CarriedState {
    this.reportShedAlerts();
    const unsentNotices = this.outbox.handOver(this.status.stage);
    return {
      status: this.status,
      completedStages: [...this.completed],
      audit: this.audit.position(),
      unstoredAudit: this.audit.unstored(),
      unsentNotices,
      caseHoldUntil: this.holdUntil,
      falsePositiveHandled: this.falsePositiveSettled,
      context: this.context,
      requestsOpened: this.gate.openedCount,
      approval: this.gate.carry(),
      rollbackCause: this.rollbackCause,
      ledger: this.ledger.carry(),
    };
  }

  /** The plan the case runs (after its first alert). */
  get plan(): Plan | undefined {
    return this.status.plan;
  }
}
