// Names and shapes shared by workflows and their clients: each exists in exactly one place.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { Alert, IdentityRef } from '../src/alerts/schema';
import type { AuditEntry } from '../src/audit/entry';
import type { Plan } from '../src/policy/plan';
import type { AuditCursor } from './auditTrail';
import type { ContainmentContext } from './containment';
import type { Compensation } from './saga';

/** What happened to one delivered alert. */
export type Disposition = 'started' | 'merged' | 'duplicate' | 'rejected';

/** Optional second signal argument: lets a sender ask later what its delivery became. */
export interface AlertDelivery {
  deliveryId: string;
}

/** Payload of `approve` and `deny`: `{"requestId","approver","reason"}`. */
export const DecisionInputSchema = z.object({
  requestId: z.string().min(1),
  approver: z.string().min(1),
  reason: z.string().max(2000).optional(),
});
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

/** Payload of the `decide` update: a decision plus which one. */
export type DecideInput = DecisionInput & { decision: 'approve' | 'deny' };

/** The answer of `decide` (and what a signal decision became, in the audit). */
export type DecideResult = { accepted: true; state: 'approved' | 'denied' | 'waiting' } | { accepted: false; reason: string };

/** Payload of `falsePositive`. */
export const FalsePositiveSchema = z.object({ by: z.string().min(1), reason: z.string().max(2000).optional() });
export type FalsePositiveInput = z.infer<typeof FalsePositiveSchema>;

/** Optional payload of `pause`, `resume` and `retryCompensations`. */
export const OperatorActionSchema = z.object({ by: z.string().min(1).optional(), reason: z.string().max(2000).optional() }).optional();
export type OperatorAction = z.infer<typeof OperatorActionSchema>;

/** One recorded approval. */
export interface Approval {
  approver: string;
  reason?: string;
}

/** An open approval request, as status shows and notifications carry it. */
export interface ApprovalRequest {
  requestId: string;
  stage: string;
  action: string;
  /** Digest of the exact action payload being approved. */
  actionDigest: string;
  groups: string[];
  required: number;
  selfApproval: boolean;
  deadline: string;
  approvals: Approval[];
}

/** Why approvers or operators are being told something. */
export type NotificationKind =
  | 'case-opened'
  | 'approval-requested'
  | 'approval-reminder'
  | 'approval-escalated'
  | 'needs-attention'
  | 'governor-blocked';

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
  | 'forwarded'
  | 'active'
  | 'contained'
  | 'held'
  | 'aborted'
  | 'rolled-back'
  | 'false-positive'
  | 'needs-attention';

/** The answer of the `status` query. */
export interface ContainmentStatus {
  identity: IdentityRef;
  stage: string;
  outcome: Outcome;
  paused: boolean;
  plan?: Plan;
  pendingRequest?: ApprovalRequest;
  alerts: RecordedAlert[];
  rejectedInputs: { reason: string }[];
  snapshot?: Record<string, unknown>;
  applied: AppliedAction[];
  compensations: Compensation[];
  falsePositive?: FalsePositiveInput;
  /** What the case is held by: `governor` (kill switch), `verify-window`, or `resume` (paused while holding a permit). */
  waitingFor?: string;
  /** A dry run: no provider action is performed; `wouldDo` lists what would have been. */
  shadow?: true;
  wouldDo?: ShadowedAction[];
  /** Set when the policy's shadow switch sent this case's alerts to the shadow case. */
  forwardedTo?: string;
}

/** State carried into a continued run. */
export interface CarriedState {
  status: ContainmentStatus;
  completedStages: string[];
  audit: AuditCursor;
  caseHoldUntil?: number;
  falsePositiveHandled: boolean;
  context?: ContainmentContext;
}

/** Start input of `containIdentity`; `alert` lets a plain `temporal workflow start` work. */
export interface ContainIdentityInput {
  identity: IdentityRef;
  /** False where Cordon's search attributes are not registered (default true). */
  searchAttributes?: boolean;
  /** Continue-as-new once the history is longer than this while the case is held (default 10,000). */
  maxHistoryEvents?: number;
  /** A shadow (dry-run) case: runs under `shadow:contain:…` and performs no provider action. */
  shadow?: boolean;
  alert?: Alert;
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
/** Sent by the governor to workflows it held when the kill switch is released. */
export const governorReleasedSignal = defineSignal('governorReleased');
export const decideUpdate = defineUpdate<DecideResult, [DecideInput]>('decide');
export const statusQuery = defineQuery<ContainmentStatus>('status');
export const auditQuery = defineQuery<AuditEntry[]>('audit');
/** The disposition of one delivery, or null if the workflow has not seen it. */
export const deliveryQuery = defineQuery<Disposition | null, [string]>('delivery');

/** The one workflow id per identity: `contain:<provider>:<identity>`. */
export function containmentWorkflowId(identity: IdentityRef): string {
  return `contain:${identity.provider}:${identity.id}`;
}

/** The dry-run case of an identity: its own workflow, so it never shares state with the real one. */
export function shadowWorkflowId(identity: IdentityRef): string {
  return `${SHADOW_PREFIX}${containmentWorkflowId(identity)}`;
}

const SHADOW_PREFIX = 'shadow:';

/** Whether a workflow id names a shadow case: the id, not any input, decides the mode. */
export const isShadowWorkflowId = (workflowId: string) => workflowId.startsWith(SHADOW_PREFIX);

/** The case an alert belongs to: the shadow case for `shadow: true`, else the real one. */
export function caseWorkflowId(alert: Pick<Alert, 'identity' | 'shadow'>): string {
  return alert.shadow ? shadowWorkflowId(alert.identity) : containmentWorkflowId(alert.identity);
}
