import type { Duration } from '@temporalio/common';
import { condition, setHandler, sleep } from '@temporalio/workflow';
import type { IdentityRef } from '../src/alerts/schema';
import type { InventoryIdentity } from '../src/inventory/schema';
import { owaspReferences } from '../src/audit/frameworks';
import { policyDigest } from '../src/policy/plan';
import type { Policy } from '../src/policy/schema';
import { auditStore } from './activities';
import type { AlertLedger } from './alertLedger';
import type { ApprovalGate } from './approvalGate';
import type { AuditTrail } from './auditTrail';
import {
  alertSignal,
  approveSignal,
  auditQuery,
  decideUpdate,
  deliveryQuery,
  denySignal,
  FalsePositiveSchema,
  falsePositiveSignal,
  governorReleasedSignal,
  OperatorActionSchema,
  pauseSignal,
  resumeSignal,
  retryCompensationsSignal,
  statusQuery,
  type CarriedState,
  type ContainmentStatus,
} from './definitions';
import { permitDecisionSignal, type PermitDecision } from './governorDefinitions';
import type { Saga } from './saga';

/** Policy and inventory record, loaded once per run by an activity (so replay sees the same). */
export interface ContainmentContext {
  policy: Policy;
  record?: InventoryIdentity;
}

/**
 * The state of one containment and every input handler. Handlers only record; the workflow's
 * main flow acts. Every input, accepted or refused, lands in the audit trail.
 */
export class Containment {
  readonly status: ContainmentStatus;
  readonly completed: Set<string>;
  context?: ContainmentContext;
  caseHoldUntil?: number;
  governorReleased = false;
  /** Governor answers not yet consumed, by permit request id. */
  readonly permitAnswers = new Map<string, PermitDecision>();
  retryCompensations = false;
  retriedBy = 'operator';
  falsePositiveHandled = false;
  private flushing = false;
  private waiting = 0;
  private checkpointed = false;

  constructor(
    identity: IdentityRef,
    private readonly audit: AuditTrail,
    private readonly ledger: AlertLedger,
    saga: Saga,
    private readonly gate: ApprovalGate,
    carried?: CarriedState,
  ) {
    this.status = carried?.status ?? {
      identity,
      stage: 'waiting-for-alert',
      outcome: 'active',
      paused: false,
      alerts: ledger.alerts,
      rejectedInputs: ledger.rejected,
      applied: [],
      compensations: saga.compensations,
    };
    this.completed = new Set(carried?.completedStages);
    this.caseHoldUntil = carried?.caseHoldUntil;
    this.falsePositiveHandled = carried?.falsePositiveHandled ?? false;
    this.registerHandlers();
    void this.persistAudit();
  }

  /** True once a valid `falsePositive` arrived. */
  get falsePositive(): boolean {
    return this.status.falsePositive !== undefined;
  }

  /** Installs the loaded policy and inventory record. */
  useContext(context: ContainmentContext): void {
    this.context = context;
    this.audit.policy = { version: context.policy.version, digest: policyDigest(context.policy) };
    this.gate.useDirectory({ approverGroups: context.policy.approverGroups, owner: context.record?.owner });
  }

  /** Records one alert delivery (also used for the start input's alert). */
  receiveAlert(input: unknown, delivery?: { deliveryId: string }): void {
    const disposition = this.ledger.receive(input, delivery);
    const id = (input as { id?: unknown } | null)?.id;
    const alertIds = typeof id === 'string' ? [id] : [];
    if (disposition === 'rejected') {
      this.audit.record({ stage: this.status.stage, event: 'input.rejected', actor: 'forwarder', reason: this.ledger.rejected.at(-1)?.reason, alertIds });
      return;
    }
    const recorded = this.ledger.alerts.find((a) => a.id === id)!;
    this.audit.record({
      stage: this.status.stage,
      event: disposition === 'duplicate' ? 'alert.duplicate' : 'alert.received',
      actor: `forwarder:${recorded.source}`,
      alertIds,
      evidence: recorded.evidence ? [recorded.evidence] : [],
      frameworks: disposition === 'duplicate' ? [] : ['NIST CSF RS.MA-02', ...owaspReferences([recorded.kind])],
    });
  }

  private reject(signal: string, reason: string): void {
    this.ledger.rejected.push({ reason: `${signal}: ${reason}` });
    this.audit.record({ stage: this.status.stage, event: 'input.rejected', actor: 'unknown', reason: `${signal}: ${reason}` });
  }

  private registerHandlers(): void {
    const gate = this.gate;
    setHandler(alertSignal, (alert, delivery) => this.receiveAlert(alert, delivery), {
      description: 'A native alert about this identity (JSON); repeated alert ids change nothing.',
    });
    setHandler(approveSignal, (input) => void gate.decide(input, 'approve', 'signal'), {
      description: 'Approve the pending request: {"requestId": "...", "approver": "...", "reason": "..."}',
    });
    setHandler(denySignal, (input) => void gate.decide(input, 'deny', 'signal'), {
      description: 'Deny the pending request: {"requestId": "...", "approver": "...", "reason": "..."}',
    });
    setHandler(decideUpdate, (input) => gate.decide(input, input.decision, 'update'), {
      validator: (input) => {
        const refused = input?.decision === 'approve' || input?.decision === 'deny' ? gate.refusal(input) : '"decision" must be approve or deny';
        if (refused) throw new Error(refused);
      },
      description: 'Approve or deny the pending request; refused decisions are rejected synchronously.',
    });
    setHandler(falsePositiveSignal, (input) => {
      const parsed = FalsePositiveSchema.safeParse(input);
      if (!parsed.success) return this.reject('falsePositive', 'needs {"by": "...", "reason"?: "..."}');
      if (this.falsePositive) return;
      this.status.falsePositive = parsed.data;
      this.audit.record({ stage: this.status.stage, event: 'false-positive.declared', actor: parsed.data.by, reason: parsed.data.reason });
    }, { description: 'Undo every reversible step: {"by": "...", "reason": "..."}' });
    const operator = (name: string, apply: (by: string) => void) => (input?: unknown) => {
      const parsed = OperatorActionSchema.safeParse(input);
      if (!parsed.success) return this.reject(name, 'payload must be {"by"?: "...", "reason"?: "..."}');
      const by = parsed.data?.by ?? 'operator';
      apply(by);
      this.audit.record({ stage: this.status.stage, event: `operator.${name}`, actor: by, reason: parsed.data?.reason });
    };
    setHandler(pauseSignal, operator('pause', () => (this.status.paused = true)), {
      description: 'Hold every new action until resume: {"by": "...", "reason": "..."}',
    });
    setHandler(resumeSignal, operator('resume', () => (this.status.paused = false)), {
      description: 'Let actions run again: {"by": "..."}',
    });
    setHandler(
      retryCompensationsSignal,
      operator('retryCompensations', (by) => {
        this.retryCompensations = true;
        this.retriedBy = by;
      }),
      { description: 'Retry undos that failed (after fixing their cause): {"by": "..."}' },
    );
    setHandler(governorReleasedSignal, () => void (this.governorReleased = true), {
      description: 'Internal: sent by the governor when the kill switch is released',
    });
    setHandler(permitDecisionSignal, ({ requestId, decision }) => void this.permitAnswers.set(requestId, decision), {
      description: "Internal: the governor's answer to a permit request",
    });
    setHandler(statusQuery, () => ({ ...this.status, pendingRequest: gate.request }), {
      description: 'Stage, outcome, plan, pending request, applied actions, compensations, alerts',
    });
    setHandler(auditQuery, () => this.audit.entries, { description: "This run's hash-chained audit entries" });
    setHandler(deliveryQuery, (deliveryId) => this.ledger.dispositionOf(deliveryId), {
      description: 'What one alert delivery became (started, merged, duplicate, rejected)',
    });
  }

  /**
   * Waits like `condition`. While the workflow waits, audit entries are stored as they appear
   * (decisions, rejections); while it works, they are stored once per stage (`checkpoint`).
   */
  async wait(done: () => boolean, timeout?: Duration): Promise<boolean> {
    this.waiting += 1;
    try {
      if (timeout !== undefined) return await condition(done, timeout);
      await condition(done);
      return true;
    } finally {
      this.waiting -= 1;
    }
  }

  /** Marks a stage boundary: what it recorded goes to the store in one activity. */
  checkpoint(): void {
    this.checkpointed = true;
  }

  // Hands audit entries to the store in batches; a store outage delays, never drops them.
  private async persistAudit(): Promise<void> {
    for (;;) {
      await condition(() => this.audit.unsaved.length > 0 && (this.waiting > 0 || this.checkpointed));
      this.checkpointed = false;
      const batch = this.audit.takeUnsaved();
      this.flushing = true;
      try {
        await auditStore.recordAuditEntries(batch);
      } catch {
        this.audit.unsaved.unshift(...batch);
        await sleep('1 minute');
      } finally {
        this.flushing = false;
      }
    }
  }

  /** Waits until every audit entry so far is persisted. */
  async drainAudit(): Promise<void> {
    await this.wait(() => this.audit.unsaved.length === 0 && !this.flushing);
  }

  /** The state a continued run starts from. */
  carry(): CarriedState {
    return {
      status: this.status,
      completedStages: [...this.completed],
      audit: this.audit.position(),
      caseHoldUntil: this.caseHoldUntil,
      falsePositiveHandled: this.falsePositiveHandled,
      context: this.context,
    };
  }
}
