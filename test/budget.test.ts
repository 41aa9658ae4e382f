// The destructive-action budget claimed in the database, embedded (PGlite) and in PostgreSQL:
// concurrent claims never spend more than the budget, and a retried claim is answered as before.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetActivities } from '../activities/budget';
import { createGovernorActivities } from '../activities/governor';
import { openDatabase, type Database } from '../src/db';
import { governorStartOptions, setKillSwitch } from '../src/client/governor';
import { cordonGovernor } from '../workflows/governor';
import { GOVERNOR_WORKFLOW_ID } from '../workflows/governorDefinitions';
import type { PermitRequest } from '../workflows/governorDefinitions';
import { useHarness } from './support/harness';
import { startPostgres, type TestPostgres } from './support/postgres';
import { testLogger } from './support/temporal';

const h = useHarness();
let pg: TestPostgres;
let postgres: Database;

beforeAll(async () => {
  pg = await startPostgres();
  postgres = await openDatabase({ url: pg.url });
});
afterAll(async () => {
  await postgres?.close();
  await pg?.stop();
});

// One set of activities per database, as in a worker process.
const budgets = new Map<Database, ReturnType<typeof createBudgetActivities>>();
const budgetActivities = (db: Database) => createBudgetActivities(db, h.env.client, testLogger, createGovernorActivities(h.env.client, h.taskQueue, testLogger).readKillSwitch);
const budgetOf = (db: Database) => budgets.get(db) ?? budgets.set(db, budgetActivities(db)).get(db)!;

const request = (overrides: Partial<PermitRequest> = {}): PermitRequest => ({
  requestId: randomUUID(),
  workflowId: `contain:simulated:${randomUUID()}`,
  stage: 'revoke',
  destructive: true,
  approved: false,
  budget: { limit: 5, windowMs: 3_600_000 },
  ...overrides,
});
const claim = (db: Database, overrides: Partial<PermitRequest> = {}, budget = budgetOf(db)) => budget.claimBudget(request(overrides));

const grantsIn = async (db: Database) => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM budget_grants')).rows[0].n);

describe.each([
  ['embedded', () => h.db],
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
    expect(await Promise.all(granted.map((requestId) => claim(db, { requestId })))).toEqual(granted.map(() => 'granted'));
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
    await db.query(`INSERT INTO budget_grants (request_id, workflow_id, stage, approved, granted_at) VALUES ('old', 'w', 'revoke', false, now() - interval '2 hours')`);
    await db.query(`INSERT INTO budget_grants (request_id, workflow_id, stage, approved, granted_at) VALUES ('older', 'w', 'revoke', false, now() - interval '8 days')`);
    expect(await claim(db, { budget: { limit: 1, windowMs: 3_600_000 } })).toBe('granted');
    expect(await claim(db, { budget: { limit: 1, windowMs: 3_600_000 } })).toBe('over-budget');
    expect(await claim(db, { budget: { limit: 2, windowMs: 3 * 3_600_000 } })).toBe('over-budget');
    expect((await db.query<{ request_id: string }>("SELECT request_id FROM budget_grants WHERE request_id IN ('old', 'older')")).rows).toEqual([{ request_id: 'old' }]);
  });
});

it('relays each grant to the governor, which lists it once', async () => {
  await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'test', reason: 'start the governor' });
  const requestId = randomUUID();
  // Claimed twice, as a retried activity does: relayed twice.
  expect(await claim(h.db, { requestId, budget: { limit: 1_000, windowMs: 3_600_000 } })).toBe('granted');
  expect(await claim(h.db, { requestId, budget: { limit: 1_000, windowMs: 3_600_000 } })).toBe('granted');
  // An update is handled after the signals sent before it: both relays have arrived.
  const { granted } = await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'test', reason: 'read the grants' });
  expect(granted.filter((g) => g.requestId === requestId)).toHaveLength(1);
});

it('claims, then reads the kill switch after the commit; over budget it reads nothing', async () => {
  await h.db.query('DELETE FROM budget_grants');
  const budget = budgetOf(h.db);
  const ofOne = { budget: { limit: 1, windowMs: 3_600_000 } };
  await setKillSwitch(h.env.client, h.taskQueue, true, { by: 'test', reason: 'read with the claim' });
  expect(await budget.claimBudgetThenReadSwitch(request(ofOne))).toEqual({ budget: 'granted', killSwitch: 'engaged' });
  expect(await budget.claimBudgetThenReadSwitch(request(ofOne))).toEqual({ budget: 'over-budget' });
  await setKillSwitch(h.env.client, h.taskQueue, false, { by: 'test', reason: 'done' });
  expect(await budget.claimBudgetThenReadSwitch(request({ approved: true, ...ofOne }))).toEqual({ budget: 'granted', killSwitch: 'released' });
  expect(await grantsIn(h.db)).toBe(2);
});

it("counts the governor's own grants, made before the budget moved to the database", async () => {
  const governor = h.env.client.workflow.getHandle(GOVERNOR_WORKFLOW_ID);
  await governor.terminate('test: a governor from before the move').catch(() => undefined);
  const at = new Date(Date.now() - 60_000).toISOString();
  const state = { engaged: false, waiting: [], granted: [{ at, workflowId: 'w-1', stage: 'revoke', requestId: 'before-1' }, { at, workflowId: 'w-2', stage: 'isolate' }] };
  await h.env.client.workflow.start(cordonGovernor, governorStartOptions(h.taskQueue, state));
  await h.db.query('DELETE FROM budget_grants');

  // A process that has not claimed yet (a fresh worker after the upgrade).
  const upgraded = budgetActivities(h.db);
  expect(await claim(h.db, { budget: { limit: 3, windowMs: 3_600_000 } }, upgraded)).toBe('granted');
  expect(await claim(h.db, { budget: { limit: 3, windowMs: 3_600_000 } }, upgraded)).toBe('over-budget');
  expect(Number((await h.db.query<{ n: string }>("SELECT count(*) AS n FROM budget_grants WHERE request_id = 'before-1' OR request_id LIKE 'governor:%'")).rows[0].n)).toBe(2);
});
