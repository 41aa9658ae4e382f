// Names and shapes shared by workflows and their clients: each exists in exactly one place.
// No zod here: workflow code checks payloads with src/domain/inputs.ts.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Alert, IdentityRef } from '../src/domain/alert';
import type { AuditEntry } from '../src/domain/auditEntry';
import type { ApprovalRequest, ContainmentContext, HumanCause, Notice } from '../src/domain/case';
import type { Control, RefusalCode } from '../src/domain/decisions';
import type { DecisionInput, FalsePositiveInput, OperatorAction } from '../src/domain/inputs';
import type { Plan } from '../src/policy/plan';
import type { CarriedAlerts } from './alertLedger';
import type { ShedTotals } from './alertLimits';
import type { PendingApproval } from './approvalGate';
import type { AuditCursor } from './auditTrail';
import type { UndeliveredNotice } from './caseOutbox';
import type { Compensation } from './saga';

export type { Approval, ApprovalRequest, NotificationKind } from '../src/domain/case';
export { caseWorkflowId, containmentWorkflowId, isShadowWorkflowId, shadowWorkflowId } from '../src/domain/case';
export type { DecisionInput, FalsePositiveInput, OperatorAction };

/** What happened to one delivered alert; `shed`: over the case's limits (counted and audited, not acted on). */
export type Disposition = 'started' | 'merged' | 'duplicate' | 'rejected' | 'shed';

/** Optional second signal argument: lets a sender ask later what its delivery became. */
export interface AlertDelivery {
  deliveryId: string;
}

/**
 * Payload of the `decide` update: a decision plus which one. `decisionId` names a decision the
 * authenticated API recorded: the case looks it up in the store, and only then is it verified.
 */
export type DecideInput = DecisionInput & { decision: 'approve' | 'deny'; decisionId?: string };

/** The answer of `decide` (and what a signal decision became, in the audit). */
export type DecideResult =
  | { accepted: true; state: 'approved' | 'denied' | 'waiting'; approvals: number; required: number }
  | { accepted: false; code: RefusalCode; reason: string };

/** Payload of the `control` update: a false positive, pause or resume, by the person named. */
export interface ControlInput {
  control: Control;
  by: string;
  reason?: string;
  /** As in `decide`: a decision the authenticated API recorded. */
  decisionId?: string;
}

/** The answer of `control`. */
export type ControlResult =
  { accepted: true; control: Control } | { accepted: false; code: RefusalCode; reason: string };

/** One alert as the workflow recorded it (no raw evidence: a fingerprint of it). */
export interface RecordedAlert {
  id: string;
  source: string;
  kind: Alert['kind'];
  severity: Alert['severity'];
  confidence: number;
  observedAt?: string;
  evidence?: string;
  deliveries: number;
}

/** An action applied to the identity. */
export interface AppliedAction {
  stage: string;
  action: string;
  changed: boolean;
  verified: boolean;
  detail: Record<string, unknown>;
}

/** What a shadow case would have done instead of an action or an undo. */
export interface ShadowedAction {
  stage: string;
  /** `restrict`…`rotate`, or `undo:<action>` for a compensation. */
  action: string;
  decidedBy: string;
}

/**
 * Where a containment stands. `needs-attention` means a human must look (e.g. an undo failed).
 * `forwarded`: the policy runs every case in shadow mode, so the alerts went to the shadow case.
 */
export type Outcome =
  'forwarded' | 'active' | 'contained' | 'held' | 'aborted' | 'rolled-back' | 'false-positive' | 'needs-attention';

/** The answer of the `status` query. */
export interface ContainmentStatus {
  identity: IdentityRef;
  stage: string;
  outcome: Outcome;
  paused: boolean;
  plan?: Plan;
  pendingRequest?: ApprovalRequest;
  alerts: RecordedAlert[];
  /** Inputs the case refused, newest last: a refused decision says why here. */
  rejectedInputs: { reason: string; code?: RefusalCode; by?: string }[];
  snapshot?: Record<string, unknown>;
  applied: AppliedAction[];
  compensations: Compensation[];
  falsePositive?: FalsePositiveInput;
  /** What the case waits for: `approval`, `kill-switch`, `verify-window` or `resume` (paused). */
  waitingFor?: string;
  /** Why the case needs a human (set with the `needs-attention` outcome). */
  attention?: string;
  /** Notifications that failed: retried with the case's deliveries, given up on after 5 attempts. */
  undelivered?: UndeliveredNotice[];
  /** A dry run: no provider action is performed; `wouldDo` lists what would have been. */
  shadow?: true;
  wouldDo?: ShadowedAction[];
  /** Set when the policy's shadow switch sent this case's alerts to the shadow case. */
  forwardedTo?: string;
  /** Alerts shed over the case's limits (policy `caseLimits`), by reason; in the `status` answer only. */
  shed?: ShedTotals;
}

/** State carried into a continued run. */
export interface CarriedState {
  status: ContainmentStatus;
  completedStages: string[];
  audit: AuditCursor;
  caseHoldUntil?: number;
  falsePositiveHandled: boolean;
  context?: ContainmentContext;
  /** Approval requests opened so far: request ids never repeat within a case. */
  requestsOpened?: number;
  /** The human decision the last rollback answered. */
  rollbackCause?: HumanCause;
  /** The alert limits' counts and the alerts not planned for yet. */
  ledger?: CarriedAlerts;
  /** The approval request the last run was waiting on: the new run waits on the same one. */
  approval?: PendingApproval;
  /** Audit entries recorded but not stored yet: the new run stores them. */
  unstoredAudit?: AuditEntry[];
  /** Notices queued but not sent yet: the new run sends them. */
  unsentNotices?: Notice[];
}

/** Start input of `containIdentity`; `alert` lets a plain `temporal workflow start` work. */
export interface ContainIdentityInput {
  identity: IdentityRef;
  /** False where Cordon's search attributes are not registered (default true). */
  searchAttributes?: boolean;
  /** Continue-as-new once the history has more events than this, while the case waits (default 10,000). */
  maxHistoryEvents?: number;
  /** Continue-as-new once the history is larger than this many bytes, while the case waits (default 4 MiB). */
  maxHistoryBytes?: number;
  /** A shadow (dry-run) case: runs under `shadow:contain:…` and performs no provider action. */
  shadow?: boolean;
  alert?: Alert;
  /**
   * The policy and inventory record, handed over by the in-process intake so the case need not
   * open with an activity. A claim like any input: every action is planned again by the worker.
   */
  context?: ContainmentContext;
  carried?: CarriedState;
}

export const alertSignal = defineSignal<[unknown, AlertDelivery?]>('alert');
export const approveSignal = defineSignal<[DecisionInput]>('approve');
export const denySignal = defineSignal<[DecisionInput]>('deny');
export const falsePositiveSignal = defineSignal<[FalsePositiveInput]>('falsePositive');
export const pauseSignal = defineSignal<[OperatorAction?]>('pause');
export const resumeSignal = defineSignal<[OperatorAction?]>('resume');
/** Retries undos that failed earlier (after an operator fixed the cause). */
export const retryCompensationsSignal = defineSignal<[OperatorAction?]>('retryCompensations');
/** Sent when the kill switch is released, to the cases it held: they try their action again. */
export const killSwitchReleasedSignal = defineSignal('killSwitchReleased');
/** A refused decision fails the Update (non-retryable, type `DecisionRefused`): only accepted ones return. */
export const decideUpdate = defineUpdate<Extract<DecideResult, { accepted: true }>, [DecideInput]>('decide');
export const controlUpdate = defineUpdate<Extract<ControlResult, { accepted: true }>, [ControlInput]>('control');
export const statusQuery = defineQuery<ContainmentStatus>('status');
export const auditQuery = defineQuery<AuditEntry[]>('audit');
/** The disposition of one delivery, or null if the workflow has not seen it. */
export const deliveryQuery = defineQuery<Disposition | null, [string]>('delivery');
