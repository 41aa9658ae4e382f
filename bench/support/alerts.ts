// Alerts and identities the benches send, and the provider's record of what it did.
import type { Alert } from '../../src/alerts';
import type { Database } from '../../src/db';

/** `prefix-0` … `prefix-(count-1)`. */
export const identityIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** A native alert on a simulated identity; `n` keeps alert ids distinct per identity. */
export const benchAlert = (identityId: string, n = 0): Alert => ({
  id: `${identityId}-alert-${n}`,
  source: 'bench',
  kind: 'secret_leak',
  severity: 'high',
  confidence: 0.95,
  identity: { provider: 'simulated', id: identityId },
});

/** When the provider first applied `action` to each identity (epoch ms), by identity id. */
export async function firstApplied(db: Database, action: string, ids: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ identity_id: string; at: number }>(
    `SELECT identity_id, extract(epoch FROM min(applied_at)) * 1000 AS at FROM simulated_actions
     WHERE action = $1 AND identity_id = ANY($2) GROUP BY identity_id`,
    [action, ids],
  );
  return new Map(rows.map((r) => [r.identity_id, Number(r.at)]));
}

/** How many (identity, action) pairs the provider applied more than once: duplicate actions. */
export async function duplicateActions(db: Database, ids: string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM simulated_actions WHERE identity_id = ANY($1)
     GROUP BY identity_id, action HAVING count(*) > 1) d`,
    [ids],
  );
  return Number(rows[0].n);
}

/** Polls until `done()` holds; benches wait on outcomes, never on fixed sleeps. */
export async function until(done: () => Promise<boolean>, what: string, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many of `ids` the provider has applied `action` to. */
export async function appliedCount(db: Database, action: string, ids: string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(DISTINCT identity_id) AS n FROM simulated_actions WHERE action = $1 AND identity_id = ANY($2)',
    [action, ids],
  );
  return Number(rows[0].n);
}
