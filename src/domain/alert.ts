// The native alert's vocabulary and shape, without zod: workflows check alerts against these, and
// src/alerts/schema.ts builds its zod schema from the same lists.

/** What a detector says happened. */
export const ALERT_KINDS = [
  'secret_leak',
  'anomalous_usage',
  'impossible_travel',
  'policy_violation',
  'agent_scope_violation',
  'cert_compromise',
  'privilege_escalation',
  'token_abuse',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Alert severity, lowest first; the order is used to compare severities. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Longest alert id a forwarder may choose; the intake prefixes it with the source's name. */
export const ALERT_ID_MAX = 200;

/** An identity in one identity system; `provider` names the connector. */
export interface IdentityRef {
  provider: string;
  id: string;
}

/** Cordon's native alert: every supported format is normalized into this. */
export interface Alert {
  id: string;
  source: string;
  kind: AlertKind;
  severity: Severity;
  confidence: number;
  identity: IdentityRef;
  observedAt?: string;
  summary?: string;
  evidence?: Record<string, unknown>;
  /** Dry run: the case runs in full under its own workflow id, but no provider action is performed. */
  shadow?: boolean;
}
