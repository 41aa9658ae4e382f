import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Deterministic module: workflows import these keys to upsert them.

/** The identity under containment, as `<provider>:<id>`. */
export const IDENTITY = defineSearchAttributeKey('CordonIdentity', SearchAttributeType.KEYWORD);
/** The identity system (connector name). */
export const PROVIDER = defineSearchAttributeKey('CordonProvider', SearchAttributeType.KEYWORD);
/** The containment stage currently running or reached. */
export const STAGE = defineSearchAttributeKey('CordonStage', SearchAttributeType.KEYWORD);
/** The outcome so far: active, contained, rolled-back, needs-attention, ... */
export const OUTCOME = defineSearchAttributeKey('CordonOutcome', SearchAttributeType.KEYWORD);
/** The highest alert severity seen for this identity. */
export const SEVERITY = defineSearchAttributeKey('CordonSeverity', SearchAttributeType.KEYWORD);

/** Why a case needs a human (set while its outcome is needs-attention). */
export const ATTENTION = defineSearchAttributeKey('CordonAttention', SearchAttributeType.KEYWORD);

/** Every search attribute Cordon registers on the namespace. */
export const SEARCH_ATTRIBUTES = [IDENTITY, PROVIDER, STAGE, OUTCOME, SEVERITY, ATTENTION] as const;
