// Names and shapes shared by workflows and their clients: each exists in exactly one place.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Alert, IdentityRef, Severity } from '../src/alerts/schema';

/** What happened to one delivered alert. */
export type Disposition = 'started' | 'merged' | 'duplicate' | 'rejected';

/** Optional second signal argument: lets a sender ask later what its delivery became. */
export interface AlertDelivery {
  deliveryId: string;
}

/** Start input of `containIdentity`; `alert` lets a plain `temporal workflow start` work. */
export interface ContainIdentityInput {
  identity: IdentityRef;
  alert?: Alert;
}

/** One alert as the workflow recorded it. */
export interface RecordedAlert {
  id: string;
  source: string;
  kind: Alert['kind'];
  severity: Severity;
  confidence: number;
  observedAt?: string;
  deliveries: number;
}

/** An action applied to the identity, as status and audit report it. */
export interface AppliedAction {
  action: string;
  changed: boolean;
  detail: Record<string, unknown>;
}

/** The answer of the `status` query. */
export interface ContainmentStatus {
  identity: IdentityRef;
  stage: string;
  outcome: string;
  alerts: RecordedAlert[];
  rejectedInputs: { reason: string }[];
  snapshot?: Record<string, unknown>;
  applied: AppliedAction[];
}

/** A new or repeated alert about this workflow's identity: `(alert, delivery?)`. */
export const alertSignal = defineSignal<[unknown, AlertDelivery?]>('alert');
/** Current state of the containment. */
export const statusQuery = defineQuery<ContainmentStatus>('status');
/** The disposition of one delivery, or null if the workflow has not seen it. */
export const deliveryQuery = defineQuery<Disposition | null, [string]>('delivery');

/** The one workflow id per identity: `contain:<provider>:<identity>`. */
export function containmentWorkflowId(identity: IdentityRef): string {
  return `contain:${identity.provider}:${identity.id}`;
}
