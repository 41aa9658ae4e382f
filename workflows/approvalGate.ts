import type { ApprovalRequest, NotificationKind } from '../src/domain/case';
import { auditableDecisionFields, requestIdFor, type Refusal } from '../src/domain/decisions';
import { checkDecision } from '../src/domain/inputs';
import { durationMs } from '../src/policy/duration';
import type { PlannedStage } from '../src/policy/plan';
import type { AuditTrail } from './auditTrail';
import type { DecideResult } from './definitions';

/** How an approval wait ended. */
export type GateOutcome = 'approved' | 'denied' | 'timed-out' | 'interrupted';
/** Where a request stands while it is open; handlers move it. */
type Decision = 'undecided' | 'approved' | 'denied';

/** Who may decide: group membership, the identity's owner, and whether a named person is believed. */
export interface Directory {
  approverGroups: Record<string, string[]>;
  owner?: string;
  mode: 'claimed' | 'verified';
}

/** A decision whose person proved who they are (through the decision API or a signed chat callback). */
export interface Proof {
  approver: string;
  method: string;
  decisionId: string;
}

/** Where a decision came from, for the audit. */
export type Channel = 'signal' | 'update' | 'api';

/** An open request and where its wait stands: what a continued run needs to wait on the same one. */
export interface PendingApproval {
  request: ApprovalRequest;
  /** Escalation groups not asked yet. */
  escalation: string[];
  /** When a `lapse` rule ends the wait after the deadlines, if one does. */
  extendedUntil?: number;
}

/** When the history is too long to go on waiting in it, and how to go on in a new run. */
export interface HandOver {
  due(): boolean;
  /** Continues as new carrying the wait (it does not return), unless `decided` became true meanwhile. */
  now(decided: () => boolean): Promise<void>;
}

/**
 * One approval gate at a time: opens a request, judges every decision the same way for signals
 * and the `decide` update, counts distinct approvers, and runs the reminder / escalation /
 * deadline timers. In `verified` mode only proven decisions count. A long wait moves to a new
 * run with its request (same id, approvals, deadline) when the history grows too long.
 */
export class ApprovalGate {
  request?: ApprovalRequest;
  /** The most recent request, once closed (for attributing the action it allowed). */
  lastRequest?: ApprovalRequest;
  /** The authenticated deny that closed the last request, if one did. */
  denial?: Proof;
  private decision: Decision = 'undecided';
  private opened: number;
  private pending?: PendingApproval;

  constructor(
    private readonly audit: AuditTrail,
    private readonly notify: (kind: NotificationKind, request: ApprovalRequest) => void,
    private readonly wait: (done: () => boolean, timeoutMs: number) => Promise<boolean>,
    /** Told of every refused decision (status shows it; approvers hear of unverified claims). */
    private readonly refused: (what: string, refusal: Refusal) => void,
    private readonly handOver: HandOver,
    /** Requests opened by earlier runs of this case (ids never repeat), and the one still open. */
    carried: { opened?: number; pending?: PendingApproval } = {},
    private directory: Directory = { approverGroups: {}, mode: 'claimed' },
  ) {
    this.opened = carried.opened ?? 0;
    // Open from the first moment of the run: a decision may arrive before the playbook is back here.
    this.pending = carried.pending;
    this.request = carried.pending?.request;
  }

  /** How many requests this case has opened (carried across continue-as-new). */
  get openedCount(): number {
    return this.opened;
  }

  /** Sets who may approve (known once the policy and inventory are loaded). */
  useDirectory(directory: Directory): void {
    this.directory = directory;
  }

  /** Why a decision is refused, or undefined when it would be accepted. */
  refusal(input: unknown, proof?: Proof): Refusal | undefined {
    const checked = checkDecision(input);
    if (!checked.ok)
      return { code: 'invalid', reason: `invalid decision: ${checked.problems.map((p) => p.field).join(', ')}` };
    const { requestId, actionDigest } = checked.value;
    // Names in reasons are cut: a reason reaches the audit, status and approvers' messages.
    const approver = (proof?.approver ?? checked.value.approver).slice(0, 100);
    if (!proof && this.directory.mode === 'verified')
      return {
        code: 'unverified',
        reason: `unverified claim by "${approver}": in verified mode only the decision API and signed chat callbacks count`,
      };
    const request = this.request;
    if (!request || request.requestId !== requestId)
      return { code: 'stale', reason: `unknown or stale request id "${requestId}"` };
    if (actionDigest !== undefined && actionDigest !== request.actionDigest)
      return {
        code: 'stale',
        reason: `request "${requestId}" is for action ${request.actionDigest}, not ${actionDigest}`,
      };
    // Signals and updates of one activation all run before the waiting code resumes.
    if (this.decision !== 'undecided')
      return { code: 'decided', reason: `request "${requestId}" is already ${this.decision}` };
    const members = request.groups.flatMap((g) => this.directory.approverGroups[g] ?? []);
    if (!members.includes(approver))
      return { code: 'forbidden', reason: `${approver} is not in the approver groups ${request.groups.join(', ')}` };
    if (!request.selfApproval && approver === this.directory.owner)
      return { code: 'self-approval', reason: `${approver} owns this identity and self-approval is off` };
    if (request.approvals.some((a) => a.approver === approver))
      return { code: 'repeat', reason: `${approver} already approved this request` };
    return undefined;
  }

  /** Applies a decision; a refused one is audited, shown in status, and changes nothing. */
  decide(input: unknown, decision: 'approve' | 'deny', channel: Channel, proof?: Proof): DecideResult {
    const refused = this.refusal(input, proof);
    const { requestId, approver, reason } = auditableDecisionFields(input);
    const stage = this.request?.stage ?? 'none';
    const who = proof?.approver ?? approver ?? 'unknown';
    const verification = proof
      ? { verified: true, method: proof.method, decisionId: proof.decisionId }
      : { verified: false };
    if (refused) {
      this.audit.record({
        stage,
        event: refused.code === 'unverified' ? 'decision.unverified' : 'decision.rejected',
        actor: who,
        reason: refused.reason,
        result: { decision, channel, requestId, code: refused.code, ...verification },
      });
      this.refused(decision, refused);
      return { accepted: false, ...refused };
    }
    const request = this.request as ApprovalRequest;
    if (decision === 'deny') {
      this.decision = 'denied';
      this.denial = proof;
      this.audit.record({
        stage,
        event: 'decision.denied',
        actor: who,
        reason,
        result: { requestId, channel, ...verification },
        frameworks: ['NIST CSF RS.MA-03'],
      });
      return { accepted: true, state: 'denied', approvals: request.approvals.length, required: request.required };
    }
    request.approvals.push({ approver: who, reason, verified: proof !== undefined });
    this.audit.record({
      stage,
      event: 'decision.approved',
      actor: who,
      reason,
      result: { requestId, channel, approvals: request.approvals.length, required: request.required, ...verification },
      frameworks: ['NIST CSF RS.MA-03'],
    });
    if (request.approvals.length >= request.required) this.decision = 'approved';
    return {
      accepted: true,
      state: this.decision === 'approved' ? 'approved' : 'waiting',
      approvals: request.approvals.length,
      required: request.required,
    };
  }

  /**
   * Closes a request an earlier run carried that this run's playbook did not come back to (a
   * false positive came first): no decision can count for it any more.
   */
  withdrawCarried(): void {
    if (!this.pending) return;
    this.lastRequest = this.pending.request;
    this.request = undefined;
    this.pending = undefined;
  }

  /** The open request and its wait, for a continued run; undefined when none is open. */
  carry(): PendingApproval | undefined {
    return this.pending;
  }

  /**
   * Opens a request for `stage` (or takes up the one a previous run carried) and waits for it:
   * reminders every `reminderEvery`; at each deadline the next escalation group joins; when none
   * is left, the outcome is `timed-out`. `interrupt` (false positive, lapse) ends the wait early
   * with `interrupted`.
   */
  async ask(
    stage: PlannedStage,
    actionDigest: string,
    interrupt: () => boolean,
    extendedUntil?: number,
  ): Promise<GateOutcome> {
    const carried = this.pending;
    const resumed = carried?.request.stage === stage.stage && carried.request.actionDigest === actionDigest;
    const pending = resumed ? carried : this.open(stage, actionDigest, extendedUntil);
    this.pending = pending;
    const { request } = pending;
    const decided = () => this.decision !== 'undecided' || interrupt();
    const deadlineMs = durationMs(stage.approval.deadline);
    for (;;) {
      const until = Date.parse(request.deadline);
      while (Date.now() < until && !decided()) {
        const wait = Math.min(durationMs(stage.approval.reminderEvery), until - Date.now());
        if (!(await this.waitInRun(decided, wait)) && Date.now() < until) this.notify('approval-reminder', request);
      }
      if (decided()) break;
      const next = pending.escalation.shift();
      if (!next) break;
      request.groups.push(next);
      request.deadline = new Date(Date.now() + deadlineMs).toISOString();
      this.audit.record({
        stage: stage.stage,
        event: 'approval.escalated',
        actor: 'cordon',
        result: { requestId: request.requestId, groups: request.groups, deadline: request.deadline },
      });
      this.notify('approval-escalated', request);
    }
    if (this.decision === 'undecided' && !interrupt() && pending.extendedUntil !== undefined) {
      await this.waitInRun(decided, Math.max(0, pending.extendedUntil - Date.now()));
    }
    return this.close(stage, request, interrupt);
  }

  // A new request: audited and told to the approvers.
  private open(stage: PlannedStage, actionDigest: string, extendedUntil?: number): PendingApproval {
    this.opened += 1;
    this.decision = 'undecided';
    this.denial = undefined;
    const request: ApprovalRequest = {
      requestId: requestIdFor(stage.stage, this.opened, actionDigest),
      stage: stage.stage,
      action: stage.action,
      actionDigest,
      groups: [...stage.approvers.groups],
      required: stage.approvers.required,
      selfApproval: stage.approvers.selfApproval,
      deadline: new Date(Date.now() + durationMs(stage.approval.deadline)).toISOString(),
      approvals: [],
    };
    this.request = request;
    this.audit.record({
      stage: stage.stage,
      event: 'approval.requested',
      actor: 'cordon',
      action: stage.action,
      result: {
        requestId: request.requestId,
        actionDigest,
        groups: request.groups,
        required: request.required,
        deadline: request.deadline,
      },
      frameworks: ['NIST CSF RS.MA-03', 'NIST CSF RS.CO-02'],
    });
    this.notify('approval-requested', request);
    return { request, escalation: [...stage.approval.escalation], extendedUntil };
  }

  // Waits like `wait`; when the history grows too long meanwhile, the wait goes on in a new run.
  private async waitInRun(decided: () => boolean, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const woke = await this.wait(() => decided() || this.handOver.due(), Math.max(0, until - Date.now()));
      if (decided()) return true;
      if (!woke) return false;
      if (this.handOver.due()) await this.handOver.now(decided);
    }
  }

  private close(stage: PlannedStage, request: ApprovalRequest, interrupt: () => boolean): GateOutcome {
    const outcome: GateOutcome =
      this.decision !== 'undecided' ? this.decision : interrupt() ? 'interrupted' : 'timed-out';
    if (outcome === 'timed-out') {
      this.audit.record({
        stage: stage.stage,
        event: 'approval.timed-out',
        actor: 'cordon',
        result: { requestId: request.requestId, onTimeout: stage.approval.onTimeout },
      });
    }
    this.lastRequest = request;
    this.request = undefined;
    this.pending = undefined;
    return outcome;
  }
}
