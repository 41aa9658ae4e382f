import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../../../src/db';

/** The observable state of a simulated identity. */
export interface SimulatedState {
  status: 'active' | 'disabled' | 'revoked';
  restricted: boolean;
  credentialVersion: number;
}

const INITIAL: SimulatedState = { status: 'active', restricted: false, credentialVersion: 1 };

/** Reads an identity's state; identities the simulation has never seen start active. */
export async function readState(db: Database, identityId: string): Promise<SimulatedState> {
  const { rows } = await db.query<{ state: SimulatedState }>(
    'SELECT state FROM simulated_identities WHERE identity_id = $1',
    [identityId],
  );
  return rows[0]?.state ?? INITIAL;
}

/** Makes `action` on an identity fail: `permanent` (non-retryable) or the next `count` calls. */
export async function injectFault(db: Database, identityId: string, action: string, fault: 'permanent' | number) {
  await db.query(
    `INSERT INTO simulated_faults (identity_id, action, remaining) VALUES ($1, $2, $3)
     ON CONFLICT (identity_id, action) DO UPDATE SET remaining = EXCLUDED.remaining`,
    [identityId, action, fault === 'permanent' ? -1 : fault],
  );
}

/** Removes an injected fault. */
export async function clearFault(db: Database, identityId: string, action: string) {
  await db.query('DELETE FROM simulated_faults WHERE identity_id = $1 AND action = $2', [identityId, action]);
}

// Consumes one injected fault for `action`: how many are left (-1 = permanent), or undefined.
async function takeFault(db: Database, identityId: string, action: string): Promise<number | undefined> {
  const { rows } = await db.query<{ remaining: number }>(
    `UPDATE simulated_faults SET remaining = CASE WHEN remaining > 0 THEN remaining - 1 ELSE remaining END
     WHERE identity_id = $1 AND action = $2 AND remaining <> 0 RETURNING remaining`,
    [identityId, action],
  );
  return rows[0]?.remaining;
}

/** True when a fault is injected for `action` (`verify:restrict`: the effect does not show). */
export const faulted = async (db: Database, identityId: string, action: string) =>
  (await takeFault(db, identityId, action)) !== undefined;

/** Throws when a fault is injected for `action` (`snapshot`, `restrict`, `undo:restrict`, ...). */
export async function failIfFaulted(db: Database, identityId: string, action: string): Promise<void> {
  const remaining = await takeFault(db, identityId, action);
  if (remaining === undefined) return;
  throw ApplicationFailure.create({
    type: 'SimulatedFault',
    message: `simulated ${action} failure on ${identityId}`,
    nonRetryable: remaining < 0,
  });
}

/**
 * Applies `change` once per idempotency key, in one statement: the action row and the new
 * state land together or not at all, so a retried call never applies twice.
 */
export async function applyOnce(
  db: Database,
  key: string,
  identityId: string,
  action: string,
  change: (state: SimulatedState) => SimulatedState,
): Promise<{ applied: boolean; state: SimulatedState }> {
  await failIfFaulted(db, identityId, action);
  const next = change(await readState(db, identityId));
  const { rows } = await db.query<{ applied: boolean }>(
    `WITH recorded AS (
       INSERT INTO simulated_actions (action_key, identity_id, action)
       VALUES ($1, $2, $3) ON CONFLICT (action_key) DO NOTHING RETURNING 1
     ), written AS (
       INSERT INTO simulated_identities (identity_id, state)
       SELECT $2, $4::jsonb WHERE EXISTS (SELECT 1 FROM recorded)
       ON CONFLICT (identity_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
       RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM written) AS applied`,
    [key, identityId, action, JSON.stringify(next)],
  );
  const applied = rows[0]?.applied === true;
  return { applied, state: applied ? next : await readState(db, identityId) };
}

/** Every action the simulation applied to an identity, oldest first. */
export async function listActions(db: Database, identityId: string): Promise<string[]> {
  const { rows } = await db.query<{ action: string }>(
    'SELECT action FROM simulated_actions WHERE identity_id = $1 ORDER BY applied_at, action_key',
    [identityId],
  );
  return rows.map((r) => r.action);
}
