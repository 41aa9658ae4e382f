// A worker killed with SIGKILL mid-containment, then restarted: the new worker replays the
// history and every audit entry is still stored exactly once, identical to the history's. The kill
// lands while an audit write is in flight (held by a table lock), the case that once left a
// contained case's entries unstored for the whole bookkeeping timeout.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AuditEntry } from '../src/audit/entry';
import { auditEntriesIn, compareWithHistory } from '../src/audit/rebuild';
import { readEntries, verifyEntries } from '../src/audit/store';
import { submitAlert } from '../src/client/submitAlert';
import { AesGcmCodec, newKeyEntry, parsePayloadKeys } from '../src/codec';
import { openDatabase, type Database } from '../src/db';
import { approveSignal, auditQuery, decideUpdate } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { startPostgres, type TestPostgres } from './support/postgres';
import { freePort, startServiceProcess, type ServiceProcess } from './support/processes';
import { containment, pendingRequestId, TEST_POLICY, TestInventory, waitForStatus } from './support/scenario';
import { startDevServer } from './support/temporal';

let env: TestWorkflowEnvironment;
let pg: TestPostgres;
let db: Database;
const inventory = new TestInventory();
const serviceEnv: Record<string, string> = {};
// The service encrypts payloads (as it does by default); this file's client holds the same key.
const payloadKeys = newKeyEntry();
const codec = new AesGcmCodec(parsePayloadKeys(payloadKeys, 'test key'));

beforeAll(async () => {
  [env, pg] = await Promise.all([startDevServer({ dataConverter: { payloadCodecs: [codec] } }), startPostgres()]);
  db = await openDatabase({ url: pg.url });
  Object.assign(serviceEnv, {
    TEMPORAL_ADDRESS: env.address,
    DATABASE_URL: pg.url,
    CORDON_TASK_QUEUE: `crash-${process.pid}`,
    CORDON_POLICY_FILE: TEST_POLICY,
    CORDON_INVENTORY_FILE: inventory.file,
    CORDON_HTTP_PORT: String(await freePort()),
    CORDON_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cordon-crash-')),
    CORDON_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    CORDON_LOG_LEVEL: 'warn',
    CORDON_PAYLOAD_KEYS: payloadKeys,
  });
});

// A test that fails midway must not leave a service running past the file.
const started: ServiceProcess[] = [];
afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db?.close();
  await Promise.all([env?.teardown(), pg?.stop()]);
});

const startService = async () => {
  const service = await startServiceProcess(serviceEnv);
  started.push(service);
  return service;
};

// Blocks inserts into the audit table (reads go on); resolves once held, with its release.
async function holdAuditTableLock(): Promise<() => Promise<void>> {
  let held!: () => void;
  let release!: () => void;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const session = db.session(async (_query, exec) => {
    await exec('BEGIN');
    await exec('LOCK TABLE audit_entries IN SHARE MODE');
    held();
    await released;
    await exec('COMMIT');
  });
  await Promise.race([isHeld, session]);
  return async () => {
    release();
    await session;
  };
}

const allStored = (handle: WorkflowHandle, timeout: number) =>
  vi.waitFor(
    async () =>
      expect(await readEntries(db, { workflowId: handle.workflowId })).toHaveLength(
        (await handle.query(auditQuery)).length,
      ),
    { timeout, interval: 200 },
  );

async function auditWriteInFlight(handle: WorkflowHandle): Promise<boolean> {
  const { pendingActivities } = (await handle.describe()).raw;
  return (pendingActivities ?? []).some(
    (a) =>
      a.activityType?.name === 'deliverOutbox' &&
      a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  );
}

describe('a worker killed mid-containment', () => {
  it('leaves every audit entry stored exactly once after a restart', async () => {
    let service = await startService();
    const id = inventory.add('two-of-n');
    await submitAlert(env.client, serviceEnv.CORDON_TASK_QUEUE, makeAlert({ identity: { provider: 'simulated', id } }));
    const handle = containment(env.client, id);
    const requestId = await pendingRequestId(handle, 'restrict');
    await allStored(handle, 20_000);

    const releaseLock = await holdAuditTableLock();
    try {
      await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'first of two' });
      await vi.waitFor(async () => expect(await auditWriteInFlight(handle)).toBe(true), {
        timeout: 20_000,
        interval: 100,
      });
      service.child.kill('SIGKILL');
      expect((await service.exit).code).toBeNull();
    } finally {
      await releaseLock();
    }

    service = await startService();
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', requestId, approver: 'bob' }] });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    // The lost write is retried once its 10 s start-to-close timeout passes.
    await allStored(handle, 40_000);
    const history = await handle.fetchHistory();
    const auditWrites = new Set(
      history.events
        ?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverOutbox')
        .map((e) => Number(e.eventId)),
    );
    const retried = history.events?.filter(
      (e) =>
        auditWrites.has(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)) &&
        (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    );
    expect(retried).toHaveLength(1);

    const stored: AuditEntry[] = await readEntries(db, { workflowId: handle.workflowId });
    expect(stored).toEqual(await handle.query(auditQuery));
    expect(verifyEntries(stored)).toMatchObject({ intact: true });
    expect(compareWithHistory(stored, await auditEntriesIn(await handle.fetchHistory(), [codec]))).toMatchObject({
      matches: true,
    });
    expect(stored.filter((e) => e.event === 'decision.approved').map((e) => e.actor)).toEqual(['alice', 'bob']);

    service.child.kill('SIGTERM');
    expect((await service.exit).code).toBe(0);
  });
});
