// Decisions made through an authenticated path. Only the intake writes them, after it checked the
// person's credentials; the case and the worker's guard read them: a name in a signal is a claim,
// a row here is a decision by someone who proved who they are.
import { randomUUID } from 'node:crypto';
import type { Database, Query } from '../db';

/** What a person decided; `kind` is approve, deny, false-positive, pause, resume, engage or release. */
export interface HumanDecision {
  workflowId: string;
  kind: string;
  requestId?: string;
  actionDigest?: string;
  actor: string;
  method: string;
  reason?: string;
}

/** Stores a decision and returns its id (what the case is told, to look it up). */
export async function recordDecision(db: Database, decision: HumanDecision): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO human_decisions (id, workflow_id, kind, request_id, action_digest, actor, method, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      id,
      decision.workflowId,
      decision.kind,
      decision.requestId ?? null,
      decision.actionDigest ?? null,
      decision.actor,
      decision.method,
      decision.reason ?? null,
    ],
  );
  return id;
}

// A decision is handed to its case at once; one older than this is no longer news.
const FRESH_FOR_MINUTES = 15;

/**
 * Takes the decision `id` for `workflowId`, once: it must be fresh and unused, or already used by
 * this very step (`usedBy`: a retried activity gets its first answer). A decision of another case,
 * an old one, or one already counted is not found, so none can be replayed.
 */
export async function takeDecision(
  db: Database,
  claim: { id: string; workflowId: string; kind: string; requestId?: string; actionDigest?: string },
  usedBy: string,
): Promise<HumanDecision | undefined> {
  const { id, workflowId } = claim;
  const { rows } = await db.query<{
    kind: string;
    request_id: string | null;
    action_digest: string | null;
    actor: string;
    method: string;
    reason: string | null;
  }>(
    `UPDATE human_decisions SET used_by = $3
     WHERE id = $1 AND workflow_id = $2 AND (used_by IS NULL OR used_by = $3)
       AND decided_at > now() - make_interval(mins => $4) AND kind = $5
       AND request_id IS NOT DISTINCT FROM $6 AND action_digest IS NOT DISTINCT FROM $7
     RETURNING kind, request_id, action_digest, actor, method, reason`,
    [id, workflowId, usedBy, FRESH_FOR_MINUTES, claim.kind, claim.requestId ?? null, claim.actionDigest ?? null],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    workflowId,
    kind: row.kind,
    requestId: row.request_id ?? undefined,
    actionDigest: row.action_digest ?? undefined,
    actor: row.actor,
    method: row.method,
    reason: row.reason ?? undefined,
  };
}

/** Whether `id` is a decision of this kind that a step of `workflowId` counted. */
export async function decisionCounted(query: Query, id: string, workflowId: string, kinds: string[]): Promise<boolean> {
  const { rows } = await query(
    `SELECT 1 FROM human_decisions WHERE id = $1 AND workflow_id = $2 AND kind = ANY($3) AND used_by IS NOT NULL`,
    [id, workflowId, kinds],
  );
  return rows.length === 1;
}

/** Who approved this request of this case for this exact action, through an authenticated path. */
export async function approversOnRecord(
  query: Query,
  workflowId: string,
  requestId: string,
  actionDigest: string,
): Promise<Set<string>> {
  const { rows } = await query<{ actor: string }>(
    `SELECT DISTINCT actor FROM human_decisions
     WHERE workflow_id = $1 AND kind = 'approve' AND request_id = $2 AND action_digest = $3 AND used_by IS NOT NULL`,
    [workflowId, requestId, actionDigest],
  );
  return new Set(rows.map((r) => r.actor));
}

/** Marks a signed callback as used; false when it was used before (a replay). */
export async function useCallbackOnce(db: Database, key: string): Promise<boolean> {
  // A callback older than Slack's 5-minute window is refused before it gets here: forget those.
  await db.query(`DELETE FROM used_callbacks WHERE used_at < now() - interval '10 minutes'`);
  const { rows } = await db.query(`INSERT INTO used_callbacks (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING key`, [
    key,
  ]);
  return rows.length === 1;
}
