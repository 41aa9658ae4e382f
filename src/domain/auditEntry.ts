// The audit entry as workflows build it. No zod here: the workflow sandbox loads this module into
// every cached workflow, and src/audit/entry.ts keeps the schema that reads entries back.
import { canonicalJson, fingerprint } from '../digest';

/** One audit entry: built deterministically inside a workflow, chained to its predecessor. */
export interface AuditEntry {
  workflowId: string;
  /** The chain: the first run id of the execution (kept across continue-as-new). */
  chain: string;
  runId: string;
  /** Position in the chain, from 1. */
  seq: number;
  at: string;
  identity: string;
  stage: string;
  event: string;
  actor: string;
  reason?: string;
  action?: string;
  result?: Record<string, unknown>;
  policyVersion?: string;
  policyDigest?: string;
  /** Alerts this entry is about. */
  alertIds: string[];
  /** Fingerprints of evidence (never the values). */
  evidence: string[];
  compensationRef?: string;
  frameworks: string[];
  /** Set on every entry of a shadow (dry-run) case: nothing it describes was done to a provider. */
  shadow?: true;
  prevHash: string;
  hash: string;
}

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

/** The event of a chain's closing entry: nothing may follow it. */
export const SEAL_EVENT = 'audit.sealed';

/** What a seal records: how many entries came before it, and the last one's hash. */
export interface SealResult {
  entries: number;
  head: string;
}

/** Whether a seal entry agrees with the chain it closes (its seq and predecessor). */
export function sealMatches(seal: AuditEntry): boolean {
  const result = seal.result as Partial<SealResult> | undefined;
  return result?.entries === seal.seq - 1 && result.head === seal.prevHash;
}
