// The kill switch and the destructive-action budget, read and claimed by the guard in one
// transaction, embedded (PGlite) and in PostgreSQL: concurrent claims never spend more than the
// budget, a retried claim is answered as before, and an engaged switch stops everything.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearAction, type Claim } from '../activities/guard';
import { openDatabase, type Database } from '../src/db';
import { moveKillSwitch } from '../src/killSwitch/store';
import { startPostgres, type TestPostgres } from './support/postgres';

let pg: TestPostgres;
let embedded: Database;
let postgres: Database;

beforeAll(async () => {
  pg = await startPostgres();
  [embedded, postgres] = await Promise.all([openDatabase({}), openDatabase({ url: pg.url })]);
});
afterAll(async () => {
  await Promise.all([embedded?.close(), postgres?.close()]);
  await pg?.stop();
});

type ClaimOverrides = Partial<Omit<Claim, 'budget'>> & { budget?: { limit: number; windowMs: number } };
const request = ({ budget, ...overrides }: ClaimOverrides = {}): Claim => ({
  claimId: randomUUID(),
  workflowId: `contain:simulated:${randomUUID()}`,
  stage: 'revoke',
  approved: false,
  budget: {
    limit: budget?.limit ?? 5,
    window: `${(budget?.windowMs ?? 3_600_000) / 60_000}m`,
    stages: ['isolate', 'revoke', 'rotate'],
  },
  ...overrides,
});
const claim = async (db: Database, overrides: ClaimOverrides & { requestId?: string; shadow?: boolean } = {}) => {
  const { requestId, shadow, ...rest } = overrides;
  const answer = await clearAction(
    db,
    request({
      ...rest,
      ...(requestId && { claimId: requestId }),
      ...(shadow && { workflowId: `shadow:contain:simulated:${randomUUID()}` }),
    }),
  );
  return answer === 'go' ? 'granted' : answer;
};

const grantsIn = async (db: Database) =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM budget_grants')).rows[0].n);

describe.each([
  ['embedded', () => embedded],
  ['postgres', () => postgres],
])('the budget in the %s database', (_kind, dbOf) => {
  it('grants at most the budget to concurrent claims, and a retried claim gets its first answer', async () => {
    const db = dbOf();
    await db.query('DELETE FROM budget_grants');
    const requests = Array.from({ length: 20 }, () => randomUUID());
    const answers = await Promise.all(requests.map((requestId) => claim(db, { requestId })));
    expect(answers.filter((a) => a === 'granted')).toHaveLength(5);
    expect(await grantsIn(db)).toBe(5);

    const granted = requests.filter((_, i) => answers[i] === 'granted');
    expect(await Promise.all(granted.map((requestId) => claim(db, { requestId })))).toEqual(
      granted.map(() => 'granted'),
    );
    expect(await grantsIn(db)).toBe(5);
  });

  it('grants an approved action over the budget and counts it; a dry run spends nothing', async () => {
    const db = dbOf();
    await db.query('DELETE FROM budget_grants');
    expect(await claim(db, { budget: { limit: 0, windowMs: 3_600_000 }, approved: true })).toBe('granted');
    expect(await grantsIn(db)).toBe(1);
    expect(await claim(db, { budget: { limit: 2, windowMs: 3_600_000 }, shadow: true })).toBe('granted');
    expect(await grantsIn(db)).toBe(1);
    expect(await claim(db, { budget: { limit: 1, windowMs: 3_600_000 }, shadow: true })).toBe('over-budget');
  });

  it('counts only the grants inside the window, and forgets them a week after', async () => {
    const db = dbOf();
    await db.query('DELETE FROM budget_grants');
    await db.query(
      `INSERT INTO budget_grants (request_id, workflow_id, stage, approved, granted_at) VALUES ('old', 'w', 'revoke', false, now() - interval '2 hours')`,
    );
    await db.query(
      `INSERT INTO budget_grants (request_id, workflow_id, stage, approved, granted_at) VALUES ('older', 'w', 'revoke', false, now() - interval '8 days')`,
    );
    expect(await claim(db, { budget: { limit: 1, windowMs: 3_600_000 } })).toBe('granted');
    expect(await claim(db, { budget: { limit: 1, windowMs: 3_600_000 } })).toBe('over-budget');
    expect(await claim(db, { budget: { limit: 2, windowMs: 3 * 3_600_000 } })).toBe('over-budget');
    expect(
      (
        await db.query<{ request_id: string }>(
          "SELECT request_id FROM budget_grants WHERE request_id IN ('old', 'older')",
        )
      ).rows,
    ).toEqual([{ request_id: 'old' }]);
  });

  it('engaged, the switch stops every action (counted or not) and lists the case for the release', async () => {
    const db = dbOf();
    await moveKillSwitch(db, { engaged: true, by: 'ciso', reason: 'drill' });
    const held = { ...request(), budget: undefined };
    expect(await clearAction(db, held)).toBe('kill-switch');
    expect(await clearAction(db, request({ approved: true }))).toBe('kill-switch');
    const released = await moveKillSwitch(db, { engaged: false, by: 'ciso' });
    expect(released.held).toContain(held.workflowId);
    expect(await clearAction(db, held)).toBe('go');
    const moves = await db.query<{ entry: { event: string; actor: string; seq: number } }>(
      "SELECT entry FROM audit_entries WHERE workflow_id = 'cordon:kill-switch' ORDER BY seq",
    );
    expect(moves.rows.slice(-2).map((r) => [r.entry.event, r.entry.actor])).toEqual([
      ['kill-switch.engaged', 'ciso'],
      ['kill-switch.released', 'ciso'],
    ]);
  });
});
