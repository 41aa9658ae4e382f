import type { AuditEntry } from '../src/audit/entry';
import type { Database } from '../src/db';

/** Persists audit entries built by workflows. */
export function createAuditActivities(db: Database) {
  return {
    /** Stores entries idempotently by (workflowId, runId, seq): retries never duplicate. */
    async recordAuditEntries(entries: AuditEntry[]): Promise<number> {
      let stored = 0;
      for (const entry of entries) {
        const { rows } = await db.query(
          `INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb)
           ON CONFLICT (workflow_id, run_id, seq) DO NOTHING RETURNING 1`,
          [entry.workflowId, entry.runId, entry.seq, entry.hash, entry.prevHash, JSON.stringify(entry)],
        );
        stored += rows.length;
      }
      return stored;
    },
  };
}
