import type { Database } from '../db';
import { verifyChain, type AuditEntry } from './entry';

/** Which entries to read; every given field must match. */
export interface AuditFilter {
  workflowId?: string;
  /** `<provider>:<id>` */
  identity?: string;
  /** ISO time: entries recorded (workflow time) at or after it. */
  since?: string;
}

/** Reads stored entries, oldest first within each workflow's chain. */
export async function readEntries(db: Database, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const { rows } = await db.query<{ entry: AuditEntry }>(
    `SELECT entry FROM audit_entries
     WHERE ($1::text IS NULL OR workflow_id = $1)
       AND ($2::text IS NULL OR entry->>'identity' = $2)
       AND ($3::timestamptz IS NULL OR (entry->>'at')::timestamptz >= $3::timestamptz)
     ORDER BY workflow_id, entry->>'chain', seq`,
    [filter.workflowId ?? null, filter.identity ?? null, filter.since ?? null],
  );
  return rows.map((r) => r.entry);
}

/** The result of checking every chain. */
export interface VerifyReport {
  chains: number;
  entries: number;
  intact: boolean;
  broken?: { workflowId: string; seq: number };
}

/**
 * Recomputes every chain: one per workflow execution (a closed case's workflow id can be used
 * again by a later case), continuing across continue-as-new runs.
 */
export function verifyEntries(entries: AuditEntry[]): VerifyReport {
  const chains = new Map<string, AuditEntry[]>();
  for (const entry of entries) {
    const key = `${entry.workflowId}#${entry.chain}`;
    chains.set(key, [...(chains.get(key) ?? []), entry]);
  }
  for (const chain of chains.values()) {
    const seq = chain[0].seq === 1 ? verifyChain(chain) : chain[0].seq;
    if (seq !== null)
      return {
        chains: chains.size,
        entries: entries.length,
        intact: false,
        broken: { workflowId: chain[0].workflowId, seq },
      };
  }
  return { chains: chains.size, entries: entries.length, intact: true };
}
