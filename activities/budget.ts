import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { GOVERNOR_READ_DEADLINE_MS, lastGovernorState } from '../src/client/governor';
import type { Database } from '../src/db';
import type { Logger } from '../src/log';
import type { SwitchReading } from './governor';
import { GOVERNOR_WORKFLOW_ID, grantRecordedSignal, type Grant, type PermitRequest } from '../workflows/governorDefinitions';

const GRANT_COLUMNS = 'request_id, workflow_id, stage, granted_at';
type GrantRow = { request_id: string; workflow_id: string; stage: string; granted_at: Date | string };
const asGrant = (row: GrantRow): Grant => ({ at: new Date(row.granted_at).toISOString(), workflowId: row.workflow_id, stage: row.stage, requestId: row.request_id });

// Serializes claims across every process sharing the database (pg_advisory_xact_lock key).
const BUDGET_LOCK = 727_002;
// Grants are kept for the longer of this and the claim's window.
const KEEP_GRANTS_MS = 7 * 24 * 3_600_000;
const IMPORT_RETRY_MS = 60_000;

/** The destructive-action budget, counted in the database: no round trip through the governor. */
export function createBudgetActivities(db: Database, client: Client, logger: Logger, readKillSwitch: () => Promise<SwitchReading>) {
  // The governor's own grants, from before the budget moved here, so an upgrade does not reset
  // the budget: read once per process before its first claim, again a minute after a failure.
  let imported = false;
  let nextImportAt = 0;
  async function governorGrantsToImport(): Promise<Grant[]> {
    if (imported || Date.now() < nextImportAt) return [];
    try {
      const state = await lastGovernorState(client, GOVERNOR_READ_DEADLINE_MS);
      imported = true;
      return state?.granted ?? [];
    } catch (err) {
      nextImportAt = Date.now() + IMPORT_RETRY_MS;
      logger.warn({ err: (err as Error).message }, "governor's grants not imported into the budget yet");
      return [];
    }
  }

  const activities = {
    /**
     * Grants a destructive action unless the window's budget is spent (an approved one always
     * is granted, and counts). Idempotent by request id: a retried claim gets its first answer
     * and is never counted twice. A dry run is answered the same way but spends nothing.
     */
    async claimBudget(request: PermitRequest): Promise<'granted' | 'over-budget'> {
      const toImport = await governorGrantsToImport();
      const granted = await db.transaction(async (query) => {
        // A claim attempt that outlives its activity timeout must not queue for the lock forever.
        await query(`SET LOCAL lock_timeout = '5s'`);
        await query('SELECT pg_advisory_xact_lock($1)', [BUDGET_LOCK]);
        if (toImport.length) {
          await query(
            `INSERT INTO budget_grants (request_id, workflow_id, stage, approved, granted_at)
             SELECT id, workflow, stage, false, at FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS g(id, workflow, stage, at)
             ON CONFLICT (request_id) DO NOTHING`,
            [toImport.map((g) => g.requestId ?? `governor:${g.at}:${g.workflowId}:${g.stage}`), toImport.map((g) => g.workflowId), toImport.map((g) => g.stage), toImport.map((g) => g.at)],
          );
        }
        const known = await query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM budget_grants WHERE request_id = $1`, [request.requestId]);
        if (known.rows.length) return asGrant(known.rows[0]);
        await query(`DELETE FROM budget_grants WHERE granted_at < now() - make_interval(secs => $1::double precision / 1000)`, [
          Math.max(KEEP_GRANTS_MS, request.budget.windowMs),
        ]);
        const { rows } = await query<{ n: string }>(
          `SELECT count(*) AS n FROM budget_grants WHERE granted_at > now() - make_interval(secs => $1::double precision / 1000)`,
          [request.budget.windowMs],
        );
        if (!request.approved && Number(rows[0].n) >= request.budget.limit) return 'over-budget' as const;
        if (request.shadow) return 'dry-run' as const;
        const inserted = await query<GrantRow>(
          `INSERT INTO budget_grants (request_id, workflow_id, stage, approved) VALUES ($1, $2, $3, $4) RETURNING ${GRANT_COLUMNS}`,
          [request.requestId, request.workflowId, request.stage, request.approved],
        );
        return asGrant(inserted.rows[0]);
      });
      if (granted === 'over-budget') return granted;
      // Told after the commit (again on a retry: the governor ignores repeats), so `governor
      // status` lists it; the count above does not need it. A governor not running misses it.
      if (granted !== 'dry-run') {
        await client.workflow
          .getHandle(GOVERNOR_WORKFLOW_ID)
          .signal(grantRecordedSignal, granted)
          .catch((err: Error) => {
            if (!(err instanceof WorkflowNotFoundError)) logger.warn({ err: err.message }, 'grant not relayed to the governor');
          });
      }
      return 'granted';
    },

    /**
     * Claims as `claimBudget`, then reads the kill switch (after the claim's commit, so last
     * before the action): one round trip for the case instead of two. Not read when over budget.
     */
    async claimBudgetThenReadSwitch(request: PermitRequest): Promise<{ budget: 'granted' | 'over-budget'; killSwitch?: SwitchReading }> {
      const budget = await activities.claimBudget(request);
      return budget === 'granted' ? { budget, killSwitch: await readKillSwitch() } : { budget };
    },
  };
  return activities;
}
