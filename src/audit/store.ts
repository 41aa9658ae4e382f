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
       AND ($3::text IS NULL OR entry->>'at' >= $3)
     ORDER BY workflow_id, seq`,
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

/** Recomputes every workflow's chain (seq continues across continue-as-new runs). */
export function verifyEntries(entries: AuditEntry[]): VerifyReport {
  const chains = new Map<string, AuditEntry[]>();
  for (const entry of entries) chains.set(entry.workflowId, [...(chains.get(entry.workflowId) ?? []), entry]);
  for (const [workflowId, chain] of chains) {
    const seq = chain[0].seq === 1 ? verifyChain(chain) : chain[0].seq;
    if (seq !== null) return { chains: chains.size, entries: entries.length, intact: false, broken: { workflowId, seq } };
  }
  return { chains: chains.size, entries: entries.length, intact: true };
}
