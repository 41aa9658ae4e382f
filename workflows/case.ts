import { condition, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { IdentityRef } from '../src/domain/alert';
import type {
  CaseOpening,
  ContainmentContext,
  IdentityTarget,
  Notice,
  NotificationKind,
  Outbox,
  OutboxReceipt,
  SnapshotReading,
} from '../src/domain/case';
import { isShadowWorkflowId } from '../src/domain/case';
import { durationMs } from '../src/policy/duration';
import { escalatePlan, plan as planFor, policyDigest, type Plan, type PlannedStage } from '../src/policy/plan';
import type { StageName } from '../src/policy/stages';
import { ATTENTION, OUTCOME, SEVERITY, STAGE } from '../src/temporal/searchAttributes';
import { AlertLedger } from './alertLedger';
import { ApprovalGate } from './approvalGate';
import { AuditTrail, type AuditEvent } from './auditTrail';
import type { ContainIdentityInput, ContainmentStatus, Outcome } from './definitions';
import { Saga } from './saga';
import { bookkeeping, outbox as outboxDelivery } from './steps';

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;
// A store that cannot be written is tried again after this; nothing is dropped meanwhile.
const STORE_RETRY = '1 minute';
// How long a waiting case gathers news (alerts, decisions) before it stores them in one delivery.
const NEWS_GATHERING_MS = 1_000;

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
  context?: ContainmentContext;
  /** Set by `retryCompensations`: who asked. */
  retryRequestedBy?: string;
  /** Set by `killSwitchReleased`: a case held by the switch tries again. */
  released = false;
  private readonly completed: Set<string>;
  private holdUntil?: number;
  private falsePositiveSettled: boolean;
  private notices: Notice[] = [];
  private lastSearchAttributes = '';

  constructor(private readonly input: ContainIdentityInput) {
    const { identity, carried } = input;
    this.identity = identity;
    this.shadow = isShadowWorkflowId(workflowInfo().workflowId);
    this.target = { provider: identity.provider, identityId: identity.id, caseId: workflowInfo().firstExecutionRunId };
    this.audit = new AuditTrail(`${identity.provider}:${identity.id}`, carried?.audit, this.shadow);
    this.ledger = new AlertLedger(identity, carried?.status.alerts, carried?.status.rejectedInputs, this.shadow);
    this.saga = new Saga(this.audit, carried?.status.compensations);
    this.gate = new ApprovalGate(
      this.audit,
      (kind, request) => this.notify(kind, { request }),
      (done, timeout) => this.waitFor(done, timeout),
      carried?.requestsOpened,
    );
    this.status = carried?.status ?? this.freshStatus();
    this.completed = new Set(carried?.completedStages);
    this.holdUntil = carried?.caseHoldUntil;
    this.falsePositiveSettled = carried?.falsePositiveHandled ?? false;
    if (this.shadow) Object.assign(this.status, { shadow: true, wouldDo: this.status.wouldDo ?? [] });
    if (carried?.context) this.useContext(carried.context);
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

  /** Queues a notification; it is delivered with the case's next step. */
  notify(kind: NotificationKind, extra: Pick<Notice, 'request' | 'reason'> = {}): void {
    const { workflowId, runId } = workflowInfo();
    this.notices.push({
      kind,
      workflowId,
      runId,
      identity: this.identity,
      stage: this.status.stage,
      outcome: this.status.outcome,
      ...extra,
      ...(this.shadow && { shadow: true as const }),
    });
  }

  /** What the next step delivers: every unstored entry and queued notice. */
  outbox(): Outbox {
    const notices = this.notices;
    this.notices = [];
    return { audit: this.audit.unstored(), notices };
  }

  /** Takes a step's receipt: stored entries are forgotten, each notice's delivery is audited. */
  settle(sent: Outbox, receipt: OutboxReceipt): void {
    if (receipt.stored) this.audit.stored(sent.audit);
    for (const { kind, error } of receipt.notices) {
      if (error)
        this.record({ stage: this.status.stage, event: 'notify.failed', actor: 'cordon', reason: `${kind}: ${error}` });
      else
        this.record({
          stage: this.status.stage,
          event: `notified.${kind}`,
          actor: 'cordon',
          frameworks: ['NIST CSF RS.CO-02'],
        });
    }
  }

  /** Takes back an outbox whose step failed: its notices go out with the next step. */
  unsent(outbox: Outbox): void {
    this.notices.unshift(...outbox.notices);
  }

  /** Whether anything waits to be stored or sent. */
  hasUnsent(): boolean {
    return this.notices.length > 0 || this.audit.unstored().length > 0;
  }

  /**
   * Delivers everything the case queued, and the receipts that delivery adds, before a wait or
   * the close. A store outage delays the delivery, never drops it.
   */
  async flush(): Promise<void> {
    while (this.hasUnsent()) {
      const sent = this.outbox();
      try {
        this.settle(sent, await outboxDelivery.deliverOutbox(sent));
      } catch {
        this.unsent(sent);
        await sleep(STORE_RETRY);
      }
    }
  }

  /**
   * Waits like `condition`, storing what the case records meanwhile (decisions, alerts, rejected
   * inputs) soon after it appears: a case may wait for days, and its audit must not. What
   * arrives within a second of the first news goes in the same delivery, so a burst of alerts
   * costs a few deliveries, not one each.
   */
  async waitFor(done: () => boolean, timeoutMs?: number): Promise<boolean> {
    const until = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const left = () => (until === undefined ? undefined : Math.max(0, until - Date.now()));
    const waitUntil = (ready: () => boolean, ms?: number) =>
      ms === undefined ? condition(ready) : condition(ready, ms);
    if (!done()) await this.flush();
    for (;;) {
      const woke = await waitUntil(() => done() || this.hasUnsent(), left());
      if (done()) return true;
      if (!woke) return false;
      const gather = Math.min(NEWS_GATHERING_MS, left() ?? NEWS_GATHERING_MS);
      if (await waitUntil(done, gather)) return true;
      await this.flush();
    }
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
    this.gate.useDirectory({ approverGroups: context.policy.approverGroups, owner: context.record?.owner });
  }

  /** Takes the opening activity's answer: context, and the identity as found. */
  opened(opening: CaseOpening): void {
    this.useContext({ policy: opening.policy, record: opening.record });
    if ('snapshot' in opening.reading) this.status.snapshot ??= opening.reading.snapshot;
  }

  /** Reads the identity as it is now (evidence only; a failure leaves it unread). */
  async readIdentity(): Promise<SnapshotReading | undefined> {
    const sent = this.outbox();
    try {
      const { reading, receipt } = await bookkeeping.readIdentity({ target: this.target, outbox: sent });
      this.settle(sent, receipt);
      if ('snapshot' in reading) this.status.snapshot ??= reading.snapshot;
      return reading;
    } catch {
      this.unsent(sent);
      return undefined;
    }
  }

  /** Moves the case and its search attributes; a dry run's outcome is prefixed. */
  setStage(stage: string, outcome: Outcome = this.status.outcome): void {
    Object.assign(this.status, { stage, outcome });
    if (outcome !== 'needs-attention') this.status.attention = undefined;
    this.index();
  }

  /** Stops the case for a human, saying why in status, search attributes and a notification. */
  needsAttention(reason: string): void {
    this.setStage(this.status.stage, 'needs-attention');
    this.status.attention = reason;
    this.index();
    this.notify('needs-attention', { reason });
  }

  // Upserts only what changed: every upsert is a history event.
  private index(): void {
    if (this.input.searchAttributes === false) return;
    const worst = [...this.ledger.alerts].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0]
      ?.severity;
    const pairs = [
      { key: STAGE, value: this.status.stage },
      { key: OUTCOME, value: this.shadow ? `shadow:${this.status.outcome}` : this.status.outcome },
      ...(worst ? [{ key: SEVERITY, value: worst }] : []),
      ...(this.status.attention ? [{ key: ATTENTION, value: this.status.attention.slice(0, 200) }] : []),
    ];
    const text = JSON.stringify(pairs.map((p) => p.value));
    if (text === this.lastSearchAttributes) return;
    this.lastSearchAttributes = text;
    upsertSearchAttributes(pairs);
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
   * Folds newly received alerts into the plan (stages are only ever added). Returns whether the
   * evidence is stronger than before: a stage added or gated, or a higher severity or confidence.
   */
  replan(): boolean {
    const fresh = this.ledger.takeNew();
    if (!fresh.length || !this.context) return false;
    const earlier = this.ledger.alerts.filter((a) => !fresh.some((f) => f.id === a.id));
    const worst = Math.max(...earlier.map((a) => SEVERITY_RANK[a.severity]));
    const surest = Math.max(...earlier.map((a) => a.confidence));
    let stronger = false;
    for (const alert of fresh) {
      const next = planFor(alert, this.context.record, this.context.policy);
      stronger ||= earlier.length > 0 && (SEVERITY_RANK[alert.severity] > worst || alert.confidence > surest);
      if (!this.status.plan) {
        this.status.plan = next;
        this.record({
          stage: this.status.stage,
          event: 'plan.created',
          actor: `policy:${next.rule}`,
          reason: next.reasons.join('; '),
          result: { rule: next.rule, stages: next.stages.map((s) => s.stage) },
          alertIds: [alert.id],
        });
        continue;
      }
      const escalated = escalatePlan(this.status.plan, next);
      this.status.plan = escalated.plan;
      if (escalated.added.length || escalated.gated.length) {
        stronger = true;
        this.record({
          stage: this.status.stage,
          event: 'plan.escalated',
          actor: `policy:${next.rule}`,
          reason: `alert ${alert.id}`,
          result: { added: escalated.added, gated: escalated.gated },
          alertIds: [alert.id],
        });
      }
    }
    this.index();
    return stronger;
  }

  /**
   * Starts a new round after the case stopped short of containment (rolled back, denied, held,
   * aborted): the plan's stages run again under the policy, from the smallest.
   */
  newRound(reason: string): void {
    // A rolled-back case runs its undone steps again; otherwise what holds stays done.
    if (this.status.outcome === 'rolled-back')
      for (const stage of [...this.completed]) if (stage !== 'observe') this.completed.delete(stage);
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

  /** Whether this run's history should be handed to a new run. */
  historyTooLong(): boolean {
    return (
      workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (this.input.maxHistoryEvents ?? 10_000)
    );
  }

  /** The state a continued run starts from. */
  carry() {
    return {
      status: this.status,
      completedStages: [...this.completed],
      audit: this.audit.position(),
      caseHoldUntil: this.holdUntil,
      falsePositiveHandled: this.falsePositiveSettled,
      context: this.context,
      requestsOpened: this.gate.openedCount,
    };
  }

  /** The plan the case runs (after its first alert). */
  get plan(): Plan | undefined {
    return this.status.plan;
  }
}
