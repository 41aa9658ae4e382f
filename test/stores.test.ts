// The audit store and the simulated provider on PGlite, without Temporal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedConnector } from '../activities/connectors/simulated';
import { GENESIS_HASH, hashEntry, type AuditEntry } from '../src/audit/entry';
import { readEntries, verifyEntries } from '../src/audit/store';
import { openDatabase, type Database } from '../src/db';

let db: Database;
beforeAll(async () => {
  db = await openDatabase({});
});
afterAll(() => db?.close());

function chain(workflowId: string, chainId: string, times: string[]): AuditEntry[] {
  let prevHash = GENESIS_HASH;
  return times.map((at, i) => {
    const body = {
      workflowId,
      chain: chainId,
      runId: chainId,
      seq: i + 1,
      at,
      identity: 'simulated:x',
      stage: 'observe',
      event: 'case.opened',
      actor: 'cordon',
      alertIds: [],
      evidence: [],
      frameworks: [],
      prevHash,
    };
    const entry = { ...body, hash: hashEntry(body) };
    prevHash = entry.hash;
    return entry;
  });
}

async function store(entries: AuditEntry[]) {
  for (const e of entries) {
    await db.query(
      'INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.workflowId, e.runId, e.seq, e.hash, e.prevHash, JSON.stringify(e)],
    );
  }
}

describe('the audit store', () => {
  it('verifies two cases that used the same workflow id as two intact chains', async () => {
    await store([
      ...chain('contain:simulated:reused', 'run-a', ['2026-11-01T10:00:00Z', '2026-11-01T10:00:01Z']),
      ...chain('contain:simulated:reused', 'run-b', [
        '2026-11-20T10:00:00Z',
        '2026-11-20T10:00:01Z',
        '2026-11-20T10:00:02Z',
      ]),
    ]);
    const entries = await readEntries(db, { workflowId: 'contain:simulated:reused' });
    expect(verifyEntries(entries)).toEqual({ chains: 2, entries: 5, intact: true });
  });

  it('filters --since as a time, not as text', async () => {
    await store(
      chain('contain:simulated:since', 'run-s', [
        '2026-11-21T23:59:59.900Z',
        '2026-11-22T00:00:00.500Z',
        '2026-11-22T02:30:00+02:00',
      ]),
    );
    const since = await readEntries(db, { workflowId: 'contain:simulated:since', since: '2026-11-22T00:00:00Z' });
    expect(since.map((e) => e.seq)).toEqual([2, 3]);
  });
});

describe('the simulated rotate action', () => {
  it('delivers the new credential again when a retry follows a crash between its two writes', async () => {
    const rotate = createSimulatedConnector(db).actions.rotate!;
    const first = await rotate.run({ identityId: 'rot-1', idempotencyKey: 'k1', caseId: 'case-1' });
    await db.query('DELETE FROM simulated_secret_store WHERE identity_id = $1', ['rot-1']); // the lost second write
    const retry = await rotate.run({ identityId: 'rot-1', idempotencyKey: 'k1', caseId: 'case-1' });
    expect(retry.changed).toBe(false);
    expect(retry.detail.credentialVersion).toBe(2);
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM simulated_secret_store WHERE identity_id = $1',
      ['rot-1'],
    );
    expect(rows).toEqual([{ version: 2 }]);
    expect(retry.detail.secretFingerprint).not.toBe(first.detail.secretFingerprint);
  });
});
