// DATABASE_URL: the audit store and the simulated provider on a real PostgreSQL server.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase, type Database } from '../src/db';
import { auditQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { startPostgres, type TestPostgres } from './support/postgres';
import { containment, TEST_POLICY, TestInventory, waitForStatus } from './support/scenario';
import { startDevServer, startWorker } from './support/temporal';

let pg: TestPostgres;
let env: TestWorkflowEnvironment;
let db: Database;
let worker: Worker;
let workerDone: Promise<void>;
const inventory = new TestInventory();
const taskQueue = `postgres-${randomUUID()}`;

beforeAll(async () => {
  [pg, env] = await Promise.all([startPostgres(), startDevServer()]);
  db = await openDatabase({ url: pg.url });
  worker = await startWorker(env, db, taskQueue, { policyFile: TEST_POLICY, inventoryFile: inventory.file });
  workerDone = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await db?.close();
  await Promise.all([env?.teardown(), pg?.stop()]);
});

describe('PostgreSQL via DATABASE_URL', () => {
  it('runs a full containment with its audit chain and provider state in PostgreSQL', async () => {
    expect(db.kind).toBe('postgres');
    const id = inventory.add('auto');
    await submitAlert(env.client, taskQueue, makeAlert({ identity: { provider: 'simulated', id } }));
    const handle = containment(env.client, id);
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));

    expect(await listActions(db, id)).toEqual(['restrict', 'revoke', 'rotate']);
    const { rows } = await db.query<{ entry: AuditEntry }>('SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq', [handle.workflowId]);
    const entries = rows.map((r) => r.entry);
    expect(verifyChain(entries)).toBeNull();
    expect(entries).toEqual((await handle.query(auditQuery)).slice(0, entries.length));
  });

  it('applies the migrations idempotently on every start', async () => {
    const again = await openDatabase({ url: pg.url });
    await again.close();
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'audit_entries'");
    expect(Number(rows[0].n)).toBe(1);
  });
});
