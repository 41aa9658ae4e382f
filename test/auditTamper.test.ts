// Issue 21 item 3: every tamper an attacker with the database's own powers tried is caught by
// `audit verify` without Temporal's histories, and named. Each test stores cases the way the
// worker does (entries and signed heads in one transaction, a checkpoint written), tampers with
// the real store, then verifies.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeAuditEntries } from '../activities/outbox';
import { AuditNotary, readCheckpoints } from '../src/audit/checkpoints';
import { GENESIS_HASH, hashEntry, type AuditEntry } from '../src/audit/entry';
import { readSignedHeads, storeSignedHeads } from '../src/audit/heads';
import { AuditSigner } from '../src/audit/signing';
import { readEntries } from '../src/audit/store';
import { verifyAudit } from '../src/audit/verify';
import { audit } from '../src/cli/auditCommand';
import { openDatabase, type Database } from '../src/db';
import { SEAL_EVENT } from '../src/domain/auditEntry';

let db: Database;
let dir: string;
let notary: AuditNotary;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cordon-tamper-'));
  notary = new AuditNotary(AuditSigner.loadOrCreate(keyFile(), publicKeyFile()), checkpointsFile());
  db = await openDatabase({});
});
afterEach(() => db.close());

const keyFile = () => path.join(dir, 'audit-signing-key.pem');
const publicKeyFile = () => path.join(dir, 'audit-signing-key.pub.pem');
const checkpointsFile = () => path.join(dir, 'audit-checkpoints.jsonl');

/** A case's chain as a workflow builds it: `count` entries, the last a seal when `sealed`. */
function caseChain(
  workflowId: string,
  count: number,
  { sealed, actorAt }: { sealed: boolean; actorAt?: (seq: number) => string | undefined },
): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const prevHash = entries.at(-1)?.hash ?? GENESIS_HASH;
    const seal = sealed && seq === count;
    const body = {
      workflowId,
      chain: `run-${workflowId}`,
      runId: `run-${workflowId}`,
      seq,
      at: new Date(Date.UTC(2026, 11, 1, 10, 0, seq)).toISOString(),
      identity: `simulated:${workflowId}`,
      stage: seal ? 'closed' : 'restrict',
      event: seal ? SEAL_EVENT : 'action.applied',
      actor: actorAt?.(seq) ?? (seal ? 'cordon' : 'policy:auto'),
      ...(seal && { result: { entries: seq - 1, head: prevHash } }),
      alertIds: [],
      evidence: [],
      frameworks: [],
      prevHash,
    };
    entries.push({ ...body, hash: hashEntry(body) });
  }
  return entries;
}

// Stored as a case's steps store them: a few entries at a time, each batch's head signed.
async function storeAsWorker(entries: AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 3) await storeAuditEntries(db, entries.slice(i, i + 3), notary);
}

// The attacker is the owner here (PGlite is single-user): it may lift the append-only triggers.
async function asOwner(sql: string, params: unknown[] = []): Promise<void> {
  await db.query('ALTER TABLE audit_entries DISABLE TRIGGER USER');
  await db.query('ALTER TABLE audit_head_signatures DISABLE TRIGGER USER');
  await db.query(sql, params);
  await db.query('ALTER TABLE audit_entries ENABLE TRIGGER USER');
  await db.query('ALTER TABLE audit_head_signatures ENABLE TRIGGER USER');
}

// Deletes a chain's entries from `fromSeq` on, and every signature that vouched for them.
async function deleteTail(workflowId: string, fromSeq: number): Promise<void> {
  await asOwner('DELETE FROM audit_entries WHERE workflow_id = $1 AND seq >= $2', [workflowId, fromSeq]);
  await asOwner('DELETE FROM audit_head_signatures WHERE workflow_id = $1 AND seq >= $2', [workflowId, fromSeq]);
}

async function insertRaw(entries: AuditEntry[]): Promise<void> {
  for (const e of entries)
    await db.query(
      'INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.workflowId, e.runId, e.seq, e.hash, e.prevHash, JSON.stringify(e)],
    );
}

const verify = async () =>
  verifyAudit({
    entries: await readEntries(db),
    signedHeads: await readSignedHeads(db),
    checkpoints: readCheckpoints(checkpointsFile()),
    key: notary.signer.publicKey,
  });

// Two closed cases and one still running, all checkpointed.
async function storeCases() {
  await storeAsWorker(caseChain('contain:a', 8, { sealed: true }));
  await storeAsWorker(caseChain('contain:b', 5, { sealed: true }));
  await storeAsWorker(caseChain('contain:running', 4, { sealed: false }));
  expect(notary.writeCheckpoint()).toBe(true);
}

describe('audit verify without the histories', () => {
  it('passes an untouched store: sealed cases, a running case, and entries signed after the checkpoint', async () => {
    await storeCases();
    const running = caseChain('contain:running', 6, { sealed: false });
    await storeAuditEntries(db, running.slice(4), notary); // after the checkpoint, with its head signature
    expect(await verify()).toMatchObject({ intact: true, chains: 3, entries: 19, sealed: 2, open: 1, problems: [] });
  });

  it('the embedded key is created private (0600) and a checkpoint holds public data only', async () => {
    await storeCases();
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile(), 'utf8');
    expect(readFileSync(checkpointsFile(), 'utf8')).not.toContain(key.split('\n')[1]);
    expect(readFileSync(publicKeyFile(), 'utf8')).toContain('BEGIN PUBLIC KEY');
  });

  it('names a deleted last entry', async () => {
    await storeCases();
    await deleteTail('contain:a', 8);
    expect((await verify()).problems).toEqual([
      'chain contain:a (run-contain:a): 1 entry up to the signed head (seq 8) is missing',
    ]);
  });

  it('names the last three entries deleted', async () => {
    await storeCases();
    await deleteTail('contain:a', 6);
    expect((await verify()).problems).toEqual([
      'chain contain:a (run-contain:a): 3 entries up to the signed head (seq 8) are missing',
    ]);
  });

  it('names a whole case deleted', async () => {
    await storeCases();
    await deleteTail('contain:b', 1);
    expect((await verify()).problems).toEqual([
      'chain contain:b (run-contain:b): signed up to seq 5, but none of its entries is stored (deleted)',
    ]);
  });

  it('names a consistent rewrite: chain recomputed, its signatures replaced with another key', async () => {
    await storeCases();
    const rewritten = caseChain('contain:a', 8, {
      sealed: true,
      actorAt: (seq) => (seq === 3 ? 'mallory' : undefined),
    });
    await deleteTail('contain:a', 1);
    await insertRaw(rewritten);
    const forger = AuditSigner.load(writeKey(path.join(dir, 'mallory.pem')));
    await storeSignedHeads(db.query, [forger.signHead(rewritten.at(-1)!)]);

    const { problems } = await verify();
    // The checkpoint knew seq 8; the signature rows that knew seq 3 and 6 were deleted with the chain.
    expect(problems).toHaveLength(2);
    expect(problems).toContain('chain contain:a (run-contain:a): the head signature at seq 8 does not verify (forged)');
    expect(problems).toContain(
      'chain contain:a (run-contain:a): head hash at seq 8 differs from the signed one (rewritten)',
    );
  });

  it('names a correctly chained forged row appended to a running case', async () => {
    await storeCases();
    const forged = caseChain('contain:running', 5, { sealed: false }).at(-1)!;
    await insertRaw([forged]);
    expect((await verify()).problems).toEqual([
      'chain contain:running (run-contain:running): entries 5..5 after the signed head carry no signature',
    ]);
  });

  it("names a forged row that repeats the signed head's seq, filed under another workflow id", async () => {
    await storeCases();
    const head = caseChain('contain:running', 4, { sealed: false })[3];
    const { hash: _h, ...body } = { ...head, event: 'decision.approved', actor: 'mallory', prevHash: head.hash };
    const forged = { ...body, hash: hashEntry(body) };
    await db.query(
      'INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ($1, $2, $3, $4, $5, $6)',
      ['zzz', forged.runId, forged.seq, forged.hash, forged.prevHash, JSON.stringify(forged)],
    );
    expect((await verify()).problems).toEqual([
      'chain contain:running (run-contain:running): seq 4 is stored more than once (forged)',
    ]);
  });

  it('names a forged row chained after a seal', async () => {
    await storeCases();
    const sealed = caseChain('contain:b', 5, { sealed: true });
    const body = { ...sealed[0], seq: 6, event: 'action.applied', prevHash: sealed[4].hash };
    const { hash: _h, ...rest } = body;
    await insertRaw([{ ...rest, hash: hashEntry(rest) }]);
    expect((await verify()).problems).toEqual([
      'chain contain:b (run-contain:b): entries 6..6 after the signed head carry no signature',
      'chain contain:b (run-contain:b): 1 entry follows its seal',
    ]);
  });

  it('names a forged chain for a case that never existed', async () => {
    await storeCases();
    await insertRaw(caseChain('contain:ghost', 4, { sealed: true }));
    expect((await verify()).problems).toEqual([
      'chain contain:ghost (run-contain:ghost): not in any signed checkpoint or head signature (forged)',
    ]);
  });

  it('names every chain of a truncated table', async () => {
    await storeCases();
    await db.query('TRUNCATE audit_entries, audit_head_signatures');
    expect((await verify()).problems).toEqual([
      'chain contain:a (run-contain:a): signed up to seq 8, but none of its entries is stored (deleted)',
      'chain contain:b (run-contain:b): signed up to seq 5, but none of its entries is stored (deleted)',
      'chain contain:running (run-contain:running): signed up to seq 4, but none of its entries is stored (deleted)',
    ]);
  });

  it('names a checkpoint line whose signature does not verify', async () => {
    await storeCases();
    const line = JSON.parse(readFileSync(checkpointsFile(), 'utf8').trim());
    appendFileSync(checkpointsFile(), `${JSON.stringify({ ...line, heads: [] })}\n`);
    expect((await verify()).problems).toEqual([
      `checkpoints line 2: its signature does not verify with key ${notary.signer.publicKey.fingerprint}`,
    ]);
  });
});

describe('cordon audit verify', () => {
  it('exits 1 naming the tamper, reading the store, key and checkpoints itself', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cordon-tamper-data-'));
    await db.close();
    db = await openDatabase({ dataDir });
    notary = new AuditNotary(
      AuditSigner.loadOrCreate(
        path.join(dataDir, 'audit-signing-key.pem'),
        path.join(dataDir, 'audit-signing-key.pub.pem'),
      ),
      path.join(dataDir, 'audit-checkpoints.jsonl'),
    );
    await storeAsWorker(caseChain('contain:cli', 6, { sealed: true }));
    notary.writeCheckpoint();
    await deleteTail('contain:cli', 4);
    await db.close();

    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    process.env.CORDON_DATA_DIR = dataDir;
    try {
      expect(await audit('verify', {})()).toBe(1);
    } finally {
      console.error = original;
      delete process.env.CORDON_DATA_DIR;
      db = await openDatabase({});
    }
    expect(errors).toEqual([
      'cordon: audit: chain contain:cli (run-contain:cli): 3 entries up to the signed head (seq 6) are missing',
    ]);
  });
});

function writeKey(file: string): string {
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
  return file;
}
