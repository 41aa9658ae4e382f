import type { Query } from '../db';
import { GENESIS_HASH, hashEntry, type AuditEntry } from './entry';

type Head = { seq: number; hash: string };

/**
 * Why these entries must not be stored (and signed), or undefined. Entries come from workflow
 * input, which anyone with namespace access can write: a store takes only entries of the
 * workflow storing them, each hashing to its own hash and continuing its chain's stored head.
 */
export async function continuityProblem(
  query: Query,
  entries: AuditEntry[],
  workflowId?: string,
): Promise<string | undefined> {
  const chains = new Map<string, AuditEntry[]>();
  for (const entry of entries) {
    if (workflowId !== undefined && entry.workflowId !== workflowId)
      return `entry ${entry.seq} belongs to ${entry.workflowId}, not to ${workflowId}`;
    const { hash, ...body } = entry;
    if (hashEntry(body) !== hash) return `entry ${entry.seq} of ${entry.workflowId} does not hash to its hash`;
    const key = `${entry.workflowId}#${entry.chain}`;
    chains.set(key, [...(chains.get(key) ?? []), entry]);
  }
  for (const chain of chains.values()) {
    const problem = await chainProblem(
      query,
      [...chain].sort((a, b) => a.seq - b.seq),
    );
    if (problem) return problem;
  }
  return undefined;
}

// A retried entry must be the stored one; a new one must follow the head, with no gap.
async function chainProblem(query: Query, chain: AuditEntry[]): Promise<string | undefined> {
  const { workflowId, chain: id } = chain[0];
  const { rows } = await query<Head>(
    `SELECT seq, hash FROM audit_entries WHERE workflow_id = $1 AND entry->>'chain' = $2 AND seq >= $3 ORDER BY seq`,
    [workflowId, id, chain[0].seq - 1],
  );
  const stored = new Map(rows.map((r) => [r.seq, r.hash]));
  let head: Head = rows.at(-1) ?? { seq: chain[0].seq - 1, hash: chain[0].seq === 1 ? GENESIS_HASH : '' };
  for (const entry of chain) {
    if (entry.seq <= head.seq) {
      if (stored.get(entry.seq) !== entry.hash)
        return `entry ${entry.seq} of ${workflowId} differs from the stored one`;
      continue;
    }
    if (entry.seq !== head.seq + 1 || entry.prevHash !== head.hash)
      return `entry ${entry.seq} of ${workflowId} does not follow its chain's stored head (seq ${head.seq})`;
    head = entry;
  }
  return undefined;
}
