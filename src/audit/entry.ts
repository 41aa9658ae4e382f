import { z } from 'zod';
import { canonicalJson, fingerprint } from '../digest';

/** One audit entry: built deterministically inside a workflow, chained to its predecessor. */
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
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** The hash before the first entry of a chain. */
export const GENESIS_HASH = 'sha256:genesis';

/** The hash of an entry: over every field but `hash`, including `prevHash`. */
export function hashEntry(entry: Omit<AuditEntry, 'hash'>): string {
  return fingerprint(canonicalJson(entry));
}

/** Checks a chain in order; returns the first broken seq, or null when it verifies. */
export function verifyChain(entries: AuditEntry[], startHash = GENESIS_HASH): number | null {
  let prev = startHash;
  for (const entry of entries) {
    const { hash, ...rest } = entry;
    if (entry.prevHash !== prev || hashEntry(rest) !== hash) return entry.seq;
    prev = hash;
  }
  return null;
}
