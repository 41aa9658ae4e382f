import { z } from 'zod';
import type { AuditEntry } from '../domain/auditEntry';

export { GENESIS_HASH, hashEntry, verifyChain, type AuditEntry } from '../domain/auditEntry';

/** Reads audit entries back from storage; workflows build them from the zod-free `AuditEntry`. */
export const AuditEntrySchema = z.object({
  workflowId: z.string(),
  /** The chain: the first run id of the execution (kept across continue-as-new). */
  chain: z.string(),
  runId: z.string(),
  seq: z.number().int().min(1),
  at: z.string(),
  identity: z.string(),
  stage: z.string(),
  event: z.string(),
  actor: z.string(),
  reason: z.string().optional(),
  action: z.string().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
  policyVersion: z.string().optional(),
  policyDigest: z.string().optional(),
  /** Alerts this entry is about. */
  alertIds: z.array(z.string()).default([]),
  /** Fingerprints of evidence (never the values). */
  evidence: z.array(z.string()).default([]),
  compensationRef: z.string().optional(),
  frameworks: z.array(z.string()).default([]),
  /** Set on every entry of a shadow (dry-run) case: nothing it describes was done to a provider. */
  shadow: z.literal(true).optional(),
  prevHash: z.string(),
  hash: z.string(),
});

// The schema and the interface describe one entry: a field added to one and not the other fails here.
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies MutuallyAssignable<z.infer<typeof AuditEntrySchema>, AuditEntry>;
