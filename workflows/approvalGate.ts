import type { ApprovalRequest, NotificationKind } from '../src/domain/case';
import { checkDecision } from '../src/domain/inputs';
import { durationMs } from '../src/policy/duration';
import type { PlannedStage } from '../src/policy/plan';
import type { AuditTrail } from './auditTrail';
import type { DecideResult } from './definitions';

/** How an approval wait ended. */
export type GateOutcome = 'approved' | 'denied' | 'timed-out' | 'interrupted';
/** Where a request stands while it is open; handlers move it. */
type Decision = 'undecided' | 'approved' | 'denied';

/** Who may decide: group membership and the identity's owner. */
export interface Directory {
  approverGroups: Record<string, string[]>;
  owner?: string;
}

/**
 * One approval gate at a time: opens a request, validates every decision the same way for
 * signals and the `decide` update, counts distinct approvers, and runs the reminder /
 * escalation / deadline timers.
 */
export class ApprovalGate {
  request?: ApprovalRequest;
  /** The most recent request, once closed (for attributing the action it allowed). */
  lastRequest?: ApprovalRequest;
  private decision: Decision = 'undecided';
  private opened: number;

  constructor(
    private readonly audit: AuditTrail,
    private readonly notify: (kind: NotificationKind, request: ApprovalRequest) => void,
    private readonly wait: (done: () => boolean, timeoutMs: number) => Promise<boolean>,
    /** Requests opened by earlier runs of this case: ids never repeat within a case. */
    opened = 0,
    private directory: Directory = { approverGroups: {} },
  ) {
    this.opened = opened;
  }

  /** How many requests this case has opened (carried across continue-as-new). */
  get openedCount(): number {
    return this.opened;
  }

  /** Sets who may approve (known once the policy and inventory are loaded). */
  useDirectory(directory: Directory): void {
    this.directory = directory;
  }

  /** Why a decision is refused, or undefined when it would be accepted. Pure: validators use it. */
  refusal(input: unknown): string | undefined {
    const checked = checkDecision(input);
    if (!checked.ok) return `invalid decision: ${checked.problems.map((p) => p.field).join(', ')}`;
    const { requestId, approver } = checked.value;
    const request = this.request;
    if (!request || request.requestId !== requestId) return `unknown or stale request id "${requestId}"`;
    // Signals and updates of one activation all run before the waiting code resumes.
    if (this.decision !== 'undecided') return `request "${requestId}" is already ${this.decision}`;
    const members = request.groups.flatMap((g) => this.directory.approverGroups[g] ?? []);
    if (!members.includes(approver)) return `${approver} is not in the approver groups ${request.groups.join(', ')}`;
    if (!request.selfApproval && approver === this.directory.owner)
      return `${approver} owns this identity and self-approval is off`;
    if (request.approvals.some((a) => a.approver === approver)) return `${approver} already approved this request`;
    return undefined;
  }

  /** Applies a decision from a signal or the update; refused ones are audited and change nothing. */
  decide(input: unknown, decision: 'approve' | 'deny', channel: string): DecideResult {
    const refused = this.refusal(input);
    const { requestId, approver, reason } = loose(input);
    const stage = this.request?.stage ?? 'none';
    if (refused) {
      this.audit.record({
        stage,
        event: 'decision.rejected',
        actor: String(approver ?? 'unknown'),
        reason: refused,
        result: { decision, channel, requestId },
      });
      return { accepted: false, reason: refused };
    }
    const request = this.request as ApprovalRequest;
    if (decision === 'deny') {
      this.decision = 'denied';
      this.audit.record({
        stage,
        event: 'decision.denied',
        actor: approver as string,
        reason,
        result: { requestId, channel },
        frameworks: ['NIST CSF RS.MA-03'],
      });
      return { accepted: true, state: 'denied' };
    }
    request.approvals.push({ approver: approver as string, reason });
    this.audit.record({
      stage,
      event: 'decision.approved',
      actor: approver as string,
      reason,
      result: { requestId, channel, approvals: request.approvals.length, required: request.required },
      frameworks: ['NIST CSF RS.MA-03'],
    });
    if (request.approvals.length >= request.required) this.decision = 'approved';
    return { accepted: true, state: this.decision === 'approved' ? 'approved' : 'waiting' };
  }

  /**
   * Opens a request for `stage` and waits for it: reminders every `reminderEvery`; at each
   * deadline the next escalation group joins; when none is left, the outcome is `timed-out`.
   * `interrupt` (false positive, lapse) ends the wait early with `interrupted`.
   */
  async ask(
    stage: PlannedStage,
    actionDigest: string,
    interrupt: () => boolean,
    extendedUntil?: number,
  ): Promise<GateOutcome> {
    this.opened += 1;
    this.decision = 'undecided';
    const deadlineMs = durationMs(stage.approval.deadline);
    const request: ApprovalRequest = {
      requestId: `${stage.stage}-${this.opened}`,
      stage: stage.stage,
      action: stage.action,
      actionDigest,
      groups: [...stage.approvers.groups],
      required: stage.approvers.required,
      selfApproval: stage.approvers.selfApproval,
      deadline: new Date(Date.now() + deadlineMs).toISOString(),
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

    const decided = () => this.decision !== 'undecided' || interrupt();
    const escalation = [...stage.approval.escalation];
    for (;;) {
      const until = Date.parse(request.deadline);
      while (Date.now() < until && !decided()) {
        const wait = Math.min(durationMs(stage.approval.reminderEvery), until - Date.now());
        if (!(await this.wait(decided, wait)) && Date.now() < until) this.notify('approval-reminder', request);
      }
      if (decided()) break;
      const next = escalation.shift();
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
    if (this.decision === 'undecided' && !interrupt() && extendedUntil !== undefined) {
      await this.wait(decided, Math.max(0, extendedUntil - Date.now()));
    }
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
    return outcome;
  }
}

// The fields of a decision worth auditing, even of a refused one; nothing oversized.
function loose(input: unknown): { requestId?: string; approver?: string; reason?: string } {
  const fields = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  const text = (value: unknown) =>
    typeof value === 'string' && value.length > 0 && value.length <= 2000 ? value : undefined;
  return { requestId: text(fields.requestId), approver: text(fields.approver), reason: text(fields.reason) };
}
