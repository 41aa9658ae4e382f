// The shapes a containment case shares between its workflow and its activities. Types only: the
// workflow bundle and the worker's activities both import this module, and neither imports the
// other.
import type { Alert, IdentityRef } from '../alerts/schema';
import type { InventoryIdentity } from '../inventory/schema';
import type { Policy } from '../policy/schema';
import type { StageName } from '../policy/stages';
import type { AuditEntry } from './auditEntry';
import type { CaseBrief } from './caseBrief';

/** State-changing actions a connector may offer, smallest blast radius first. */
export type ActionName = 'restrict' | 'isolate' | 'revoke' | 'rotate';

/** Which identity an activity acts on, for which containment case. */
export interface IdentityTarget {
  provider: string;
  identityId: string;
  /** The case's first run id (stable across continue-as-new): captures belong to one case. */
  caseId: string;
}

/**
 * Evidence captured before acting; must hold no secret values. Evidence that changes on its own
 * (live sessions, last use) goes under `observed`: it is recorded, but a rollback does not
 * expect it back when it checks that the identity was restored.
 */
export type IdentitySnapshot = Record<string, unknown> & { observed?: Record<string, unknown> };

/** A snapshot, or why none could be taken (a case goes on without one). */
export type SnapshotReading = { snapshot: IdentitySnapshot } | { unavailable: string };

/** Policy and inventory record a case plans with, loaded once by its opening activity. */
export interface ContainmentContext {
  policy: Policy;
  record?: InventoryIdentity;
  /** For an `unresolved` principal: why no identity system is known for it (what the case asks a human). */
  unresolved?: string;
}

/** What a case's opening activity hands back: its context and the identity as found. */
export interface CaseOpening extends ContainmentContext {
  reading: SnapshotReading;
}

/** One recorded approval. */
export interface Approval {
  approver: string;
  reason?: string;
  /** True when the approver proved who they are (the decision API, a signed chat callback). */
  verified: boolean;
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
  | 'kill-switch-engaged'
  /** A decision was refused: in verified mode, an unverified claim made in a listed person's name. */
  | 'decision-refused';

/** One notification a case asks to deliver. */
export interface Notice {
  /** Unique per notice (`<runId>/<n>`): a receiver drops a repeat of one it has. */
  id: string;
  kind: NotificationKind;
  workflowId: string;
  runId: string;
  identity: IdentityRef;
  stage: string;
  outcome: string;
  request?: ApprovalRequest;
  /** Why the case needs attention, for `needs-attention`. */
  reason?: string;
  /** What an approver needs to know: the case at a glance, what waits, why, who is hit. */
  brief?: CaseBrief;
  /** From a shadow (dry-run) case: approving it performs nothing on the identity. */
  shadow?: true;
  /** Send to these channels only (a retry goes where it failed); absent: every configured one. */
  channels?: string[];
}

/** What a case has queued for the store and the approvers; every step activity delivers it. */
export interface Outbox {
  audit: AuditEntry[];
  notices: Notice[];
}

/** What became of an outbox: entries are stored idempotently; a notice that failed says why. */
export interface OutboxReceipt {
  /** False when the store could not be written: the case keeps the entries for its next step. */
  stored: boolean;
  notices: NoticeReceipt[];
}

/** What became of one notice. */
export interface NoticeReceipt {
  kind: NotificationKind;
  error?: string;
  /** The channels worth trying again (absent: all of them; empty: none, every failure was permanent). */
  retryChannels?: string[];
}

/** The alert facts a plan is made from (the case's ledger keeps no raw evidence). */
export type PlanningAlert = Pick<Alert, 'id' | 'kind' | 'severity' | 'confidence'>;

/** On what authority an action runs: the plan's rule, the approvers, or a timeout rule. */
export type Authority =
  | { by: 'policy' }
  | { by: 'approvers'; requestId: string; actionDigest: string; approvers: string[] }
  | { by: 'timeout'; requestId: string; rule: 'proceed' };

/** The input of the action activity: one state-changing step of one case. */
export interface ActionStep {
  target: IdentityTarget;
  stage: StageName;
  action: ActionName;
  /** The alerts the case planned from, oldest first: the worker plans again from them. */
  alerts: PlanningAlert[];
  /** The policy the case planned with; refused unless the worker loaded it from its own files. */
  policyDigest: string;
  authority: Authority;
  outbox: Outbox;
}

/** What the action activity did. It never throws once it may have acted. */
export type ActionOutcome =
  | {
      status: 'applied';
      changed: boolean;
      verified: boolean;
      detail: Record<string, unknown>;
      reading: SnapshotReading;
      receipt: OutboxReceipt;
    }
  /** A shadow case: guarded and read as a real one, nothing performed. */
  | { status: 'shadowed'; reading: SnapshotReading; receipt: OutboxReceipt }
  /** Nothing done: the kill switch is engaged. */
  | { status: 'kill-switch'; receipt: OutboxReceipt }
  /** Nothing done: the destructive-action budget is spent and the action is not approved. */
  | { status: 'over-budget'; receipt: OutboxReceipt }
  /** Nothing done: the worker's own policy, inventory or the workflow id do not allow it. */
  | { status: 'refused'; reason: string; receipt: OutboxReceipt };

/** The human decision a rollback answers; in verified mode the undo must find it on record. */
export interface HumanCause {
  kind: 'false-positive' | 'deny';
  /** The authenticated decision (absent: a claim, counted only in claimed mode). */
  decisionId?: string;
}

/** The input of the undo activity. */
export interface UndoStep {
  target: IdentityTarget;
  action: ActionName;
  /** Set when a person asked for the undo (absent: Cordon's own rule, a failure or a timeout). */
  cause?: HumanCause;
  /** Take a snapshot after the undo (the last of a rollback, to check the identity is restored). */
  snapshotAfter: boolean;
  outbox: Outbox;
}

/** What the undo activity did. A failed undo throws: the case keeps it for a retry. */
export type UndoOutcome =
  | {
      status: 'undone';
      changed: boolean;
      detail: Record<string, unknown>;
      after?: SnapshotReading;
      receipt: OutboxReceipt;
    }
  | { status: 'shadowed'; after?: SnapshotReading; receipt: OutboxReceipt }
  | { status: 'kill-switch'; receipt: OutboxReceipt }
  | { status: 'refused'; reason: string; receipt: OutboxReceipt };

/** Failure types the step activities raise (never retried). */
export const StepFailure = {
  UnknownProvider: 'UnknownProvider',
  UnsupportedAction: 'UnsupportedAction',
} as const;

/** Workflow id prefixes: the id, not any input, says which identity a case is about. */
const CASE_PREFIX = 'contain:';
const SHADOW_PREFIX = 'shadow:';

/** The one workflow id per identity: `contain:<provider>:<identity>`. */
export function containmentWorkflowId(identity: IdentityRef): string {
  return `${CASE_PREFIX}${identity.provider}:${identity.id}`;
}

/** The dry-run case of an identity: its own workflow, so it never shares state with the real one. */
export function shadowWorkflowId(identity: IdentityRef): string {
  return `${SHADOW_PREFIX}${containmentWorkflowId(identity)}`;
}

/** Whether a workflow id names a shadow case: the id, not any input, decides the mode. */
export const isShadowWorkflowId = (workflowId: string) => workflowId.startsWith(SHADOW_PREFIX);

/** Whether `workflowId` is the real or the shadow case of `identity`. */
export function isCaseOf(workflowId: string, identity: IdentityRef): boolean {
  return workflowId === containmentWorkflowId(identity) || workflowId === shadowWorkflowId(identity);
}

/** The case an alert belongs to: the shadow case for `shadow: true`, else the real one. */
export function caseWorkflowId(alert: { identity: IdentityRef; shadow?: boolean }): string {
  return alert.shadow ? shadowWorkflowId(alert.identity) : containmentWorkflowId(alert.identity);
}
