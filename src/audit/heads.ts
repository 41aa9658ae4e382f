// Signed chain heads in the store, beside the entries they vouch for. The store cannot forge
// them (it has no key); deleting them only loses what the latest checkpoint still holds.
import type { Database, Query } from '../db';
import type { AuditEntry } from './entry';
import type { ChainHead, SignedHead } from './signing';

/** The last entry of each chain in `entries` (a batch stored together): the heads to sign. */
export function headsOf(entries: AuditEntry[]): ChainHead[] {
  const heads = new Map<string, ChainHead>();
  for (const { workflowId, chain, seq, hash } of entries) {
    const key = `${workflowId}#${chain}`;
    if ((heads.get(key)?.seq ?? 0) < seq) heads.set(key, { workflowId, chain, seq, hash });
  }
  return [...heads.values()];
}

/** Stores head signatures idempotently (a retried step signs the same head again). */
export async function storeSignedHeads(query: Query, heads: SignedHead[]): Promise<void> {
  if (!heads.length) return;
  const values = heads.map(
    (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`,
  );
  await query(
    `INSERT INTO audit_head_signatures (workflow_id, chain, seq, hash, signature, key) VALUES ${values.join(', ')}
     ON CONFLICT (workflow_id, chain, seq) DO NOTHING`,
    heads.flatMap((h) => [h.workflowId, h.chain, h.seq, h.hash, h.signature, h.key]),
  );
}

/** Reads the stored head signatures, of one workflow or all. */
export async function readSignedHeads(db: Database, workflowId?: string): Promise<SignedHead[]> {
  const { rows } = await db.query<{
    workflow_id: string;
    chain: string;
    seq: number;
    hash: string;
    signature: string;
    key: string;
  }>(
    `SELECT workflow_id, chain, seq, hash, signature, key FROM audit_head_signatures
     WHERE ($1::text IS NULL OR workflow_id = $1) ORDER BY workflow_id, chain, seq`,
    [workflowId ?? null],
  );
  return rows.map((r) => ({
    workflowId: r.workflow_id,
    chain: r.chain,
    seq: r.seq,
    hash: r.hash,
    signature: r.signature,
    key: r.key,
  }));
}
