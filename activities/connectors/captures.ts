import type { Database } from '../../src/db';

/** Which action on which identity, in which containment case, a capture belongs to. */
export interface CaptureKey {
  provider: string;
  identityId: string;
  action: string;
  caseId: string;
}

const WHERE = 'provider = $1 AND identity_id = $2 AND action = $3 AND case_id = $4';
const params = (key: CaptureKey) => [key.provider, key.identityId, key.action, key.caseId];

/** The state an action captured before it changed anything, if it did. */
export async function capturedFor<T>(db: Database, key: CaptureKey): Promise<T | undefined> {
  const { rows } = await db.query<{ captured: T }>(
    `SELECT captured FROM connector_captures WHERE ${WHERE}`,
    params(key),
  );
  return rows[0]?.captured;
}

/**
 * Reads and keeps the state an action is about to change, so its undo can put it back exactly.
 * The first capture wins: a retried action (which may already have changed the state) gets the
 * state from before its first attempt. Captures hold no secret values.
 */
export async function capture<T>(db: Database, key: CaptureKey, read: () => Promise<T>): Promise<T> {
  const kept = await capturedFor<T>(db, key);
  if (kept !== undefined) return kept;
  await db.query(
    `INSERT INTO connector_captures (provider, identity_id, action, case_id, captured) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (provider, identity_id, action, case_id) DO NOTHING`,
    [...params(key), JSON.stringify(await read())],
  );
  return (await capturedFor<T>(db, key))!;
}

/** The case's captures of an identity whose action name starts with `prefix`, oldest first. */
export async function capturesStartingWith<T>(
  db: Database,
  key: Omit<CaptureKey, 'action'>,
  prefix: string,
): Promise<T[]> {
  const { rows } = await db.query<{ captured: T }>(
    `SELECT captured FROM connector_captures
     WHERE provider = $1 AND identity_id = $2 AND case_id = $3 AND starts_with(action, $4) ORDER BY captured_at`,
    [key.provider, key.identityId, key.caseId, prefix],
  );
  return rows.map((r) => r.captured);
}

/** Forgets a capture once its undo has restored it; the next action captures afresh. */
export async function releaseCapture(db: Database, key: CaptureKey): Promise<void> {
  await db.query(`DELETE FROM connector_captures WHERE ${WHERE}`, params(key));
}
