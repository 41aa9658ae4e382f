import type { AuditNotary } from '../src/audit/checkpoints';
import type { AuditEntry } from '../src/audit/entry';
import { continuityProblem } from '../src/audit/continuity';
import { storeSignedHeads } from '../src/audit/heads';
import type { Database } from '../src/db';
import type { Notice, Outbox, OutboxReceipt } from '../src/domain/case';
import type { Logger } from '../src/log';
import { errorText } from '../src/domain/errors';
import { NoticeFailure } from './notifications';
import { caseExecution } from './stepTools';

/**
 * Stores audit entries idempotently by (workflowId, runId, seq): retries never duplicate. With a
 * notary, each chain's new head is signed in the same transaction, so no stored entry is ever
 * without its signature. `workflowId`: the workflow storing them; entries that are not its own,
 * or do not continue their stored chain, are refused (and stay with the case).
 */
export async function storeAuditEntries(
  db: Database,
  entries: AuditEntry[],
  notary?: AuditNotary,
  workflowId?: string,
): Promise<void> {
  if (!entries.length) return;
  const values = entries.map(
    (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6}::jsonb)`,
  );
  const heads = notary?.signHeads(entries) ?? [];
  await db.transaction(async (query) => {
    const problem = await continuityProblem(query, entries, workflowId);
    if (problem) throw new Error(`audit entries refused: ${problem}`);
    await query(
      `INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ${values.join(', ')}
       ON CONFLICT (workflow_id, run_id, seq) DO NOTHING`,
      entries.flatMap((e) => [e.workflowId, e.runId, e.seq, e.hash, e.prevHash, JSON.stringify(e)]),
    );
    await storeSignedHeads(query, heads);
  });
  notary?.committed(heads);
}

// All of a delivery's notices share this much time: a webhook that hangs must not hold a step (or
// a case's wait) past its activity timeout. A notice not sent in time is reported, not retried.
const NOTICES_BUDGET_MS = 5_000;

/**
 * Delivers what a case queued: the audit entries, then its notices. Never throws: it runs last
 * in a step that may already have acted, and that step must still report what it did. A store
 * it could not write leaves the entries with the case for its next step; a notice that failed
 * is reported for the case to audit.
 */
export async function deliverOutbox(
  db: Database,
  notary: AuditNotary | undefined,
  send: (n: Notice, timeoutMs: number) => Promise<void>,
  logger: Logger,
  outbox: Outbox,
): Promise<OutboxReceipt> {
  let stored = true;
  try {
    await storeAuditEntries(db, outbox.audit, notary, caseExecution().workflowId);
  } catch (err) {
    stored = false;
    logger.warn(
      { err: (err as Error).message, entries: outbox.audit.length },
      'audit entries not stored yet: the case keeps them',
    );
  }
  const notices: OutboxReceipt['notices'] = [];
  const deadline = Date.now() + NOTICES_BUDGET_MS;
  for (const notice of outbox.notices) {
    const left = deadline - Date.now();
    if (left <= 0) {
      notices.push({
        kind: notice.kind,
        error: `not sent: the delivery's ${NOTICES_BUDGET_MS} ms for notices ran out`,
      });
      continue;
    }
    try {
      await send(notice, left);
      notices.push({ kind: notice.kind });
    } catch (err) {
      const retryChannels = err instanceof NoticeFailure ? err.retry : undefined;
      notices.push({ kind: notice.kind, error: errorText(err), ...(retryChannels && { retryChannels }) });
    }
  }
  return { stored, notices };
}
