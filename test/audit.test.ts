// Invariant 4 (each audit entry stored exactly once, chains verify, a rebuild from history
// matches) and the determinism guard: recorded histories replay against today's workflow code.
import { Context } from '@temporalio/activity';
import { Worker, type ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { storeAuditEntries } from '../activities/outbox';
import { hashEntry, verifyChain, type AuditEntry } from '../src/audit/entry';
import { AuditNotary, readCheckpoints } from '../src/audit/checkpoints';
import { readSignedHeads } from '../src/audit/heads';
import { auditEntriesIn } from '../src/audit/rebuild';
import { AuditSigner } from '../src/audit/signing';
import { verifyAudit } from '../src/audit/verify';
import { buildIntake } from '../src/intake/server';
import { approveSignal, auditQuery, falsePositiveSignal } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { testLogger } from './support/temporal';

// Fault injection: the first action step of every run fails after it acted and wrote its rows, as
// a worker crash before the activity's completion would. The retry must not duplicate anything.
const failedOnce = new Set<string>();
const failAfterWriting: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    const result = await next(input);
    const info = Context.current().info;
    const run = info.workflowExecution?.runId ?? '';
    if (info.activityType === 'actOnIdentity' && !failedOnce.has(run)) {
      failedOnce.add(run);
      throw new Error('injected: failed after writing');
    }
    return result;
  },
};
const keyDir = mkdtempSync(path.join(tmpdir(), 'cordon-audit-key-'));
const notary = new AuditNotary(
  AuditSigner.loadOrCreate(path.join(keyDir, 'key.pem'), path.join(keyDir, 'key.pub.pem')),
  path.join(keyDir, 'checkpoints.jsonl'),
);
const h = useHarness({ interceptors: { activity: [() => ({ inbound: failAfterWriting })] }, auditNotary: notary });

async function storedEntries(workflowId: string): Promise<AuditEntry[]> {
  const { rows } = await h.db.query<{ entry: AuditEntry }>(
    'SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY run_id, seq',
    [workflowId],
  );
  return rows.map((r) => r.entry);
}

const entriesFromHistory = async (workflowId: string) =>
  auditEntriesIn(await h.env.client.workflow.getHandle(workflowId).fetchHistory());

async function finishedContainment() {
  const { id, handle } = await h.contain('gated');
  await handle.signal(approveSignal, { requestId: await pendingRequestId(handle, 'isolate'), approver: 'alice' });
  await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
  await handle.signal(falsePositiveSignal, { by: 'bob', reason: 'test traffic' });
  await handle.result();
  return { id, handle };
}

describe('the audit trail', () => {
  it('stores every entry exactly once, the chain verifies, and a rebuild from history matches', async () => {
    const { id, handle } = await finishedContainment();
    const fromWorkflow = await handle.query(auditQuery);
    const stored = await storedEntries(handle.workflowId);

    expect(stored).toEqual(fromWorkflow);
    const attempts = ((await handle.fetchHistory()).events ?? []).flatMap(
      (e) => e.activityTaskStartedEventAttributes?.attempt ?? [],
    );
    expect(Math.max(...attempts)).toBeGreaterThan(1); // the injected failure was retried
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(verifyChain(stored)).toBeNull();
    expect(await entriesFromHistory(handle.workflowId)).toEqual(stored);
    // The retried action acted once.
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate', 'undo:isolate', 'undo:restrict']);
    // Entries ride with the steps; only a wait (approval, verification window) or the close
    // sends them on their own, with the receipts of the notices it delivered.
    const scheduled = ((await handle.fetchHistory()).events ?? []).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(scheduled.filter((name) => name !== 'deliverOutbox')).toEqual([
      'openCase',
      'actOnIdentity',
      'actOnIdentity',
      'undoAction',
      'undoAction',
    ]);
    // At most two deliveries per wait and at the close: the news, then the receipts of the
    // notices it sent. Which wait takes a decision's entry depends on when the signal lands.
    const waits = 2; // the approval of isolate, the verification window
    expect(scheduled.filter((name) => name === 'deliverOutbox').length).toBeLessThanOrEqual(2 * (waits + 1));
    expect(stored.map((e) => e.event)).toEqual(
      expect.arrayContaining([
        'alert.received',
        'plan.created',
        'approval.requested',
        'decision.approved',
        'action.applied',
        'false-positive.declared',
        'compensation.applied',
        'identity.restored',
      ]),
    );
    // Every step is attributable: to the rule that made it automatic, or to its approvers.
    const applied = Object.fromEntries(stored.filter((e) => e.event === 'action.applied').map((e) => [e.action, e]));
    expect(applied.restrict).toMatchObject({
      actor: 'policy:gated-isolate',
      frameworks: expect.arrayContaining(['NIST CSF RS.MI-01', 'OWASP NHI2 Secret Leakage']),
    });
    expect(applied.isolate.actor).toBe('approvers:alice');
    const received = stored.find((e) => e.event === 'alert.received')!;
    expect(received).toMatchObject({
      actor: 'forwarder:test',
      alertIds: [expect.any(String)],
      frameworks: expect.arrayContaining(['OWASP NHI2 Secret Leakage']),
    });
    // Entries from the plan on cite the policy they acted under.
    const planned = stored.slice(stored.findIndex((e) => e.event === 'plan.created'));
    expect(planned.every((e) => e.policyDigest?.startsWith('sha256:'))).toBe(true);
  });

  it('a retried store call adds nothing; a tampered entry breaks the chain at its seq', async () => {
    const { handle } = await finishedContainment();
    const stored = await storedEntries(handle.workflowId);
    await storeAuditEntries(h.db, stored);
    expect(await storedEntries(handle.workflowId)).toHaveLength(stored.length);

    const tampered = stored.map((e) => (e.seq === 3 ? { ...e, actor: 'mallory' } : e));
    expect(verifyChain(tampered)).toBe(3);
  });

  it('stores only what the storing workflow could have written: its own entries, continuing their chain', async () => {
    const { handle } = await finishedContainment();
    const stored = await storedEntries(handle.workflowId);
    const rehash = (e: AuditEntry) => {
      const { hash: _h, ...body } = e;
      return { ...body, hash: hashEntry(body) };
    };
    const last = stored.at(-1)!;
    const appended = rehash({ ...last, seq: last.seq + 1, prevHash: last.hash, event: 'decision.approved' });
    // Start input (carried entries) is a claim: another case's chain, a gap, a rewrite, a twin row.
    const attempts: Array<[AuditEntry[], string | undefined, RegExp]> = [
      [[appended], 'contain:simulated:someone-else', /belongs to contain:simulated:\S+, not to/],
      [[rehash({ ...appended, seq: last.seq + 2 })], handle.workflowId, /does not follow its chain's stored head/],
      [[rehash({ ...appended, prevHash: stored[0].hash })], handle.workflowId, /does not follow/],
      [[{ ...stored[2], actor: 'mallory' }], handle.workflowId, /does not hash to its hash/],
      [
        [rehash({ ...stored[2], runId: 'forged-run', actor: 'mallory' })],
        handle.workflowId,
        /differs from the stored one/,
      ],
    ];
    for (const [entries, caller, problem] of attempts)
      await expect(storeAuditEntries(h.db, entries, undefined, caller)).rejects.toThrow(problem);
    expect(await storedEntries(handle.workflowId)).toEqual(stored);
    await storeAuditEntries(h.db, [...stored.slice(-2), appended], undefined, handle.workflowId);
    expect(await storedEntries(handle.workflowId)).toEqual([...stored, appended]);
  });

  it('a closed case ends with its seal; signed heads and a checkpoint verify it without the history', async () => {
    const { handle } = await finishedContainment();
    const stored = await storedEntries(handle.workflowId);
    expect(stored.at(-1)).toMatchObject({
      event: 'audit.sealed',
      result: { entries: stored.length - 1, head: stored.at(-2)!.hash },
    });
    expect(notary.writeCheckpoint()).toBe(true);
    const verdict = verifyAudit({
      entries: stored,
      signedHeads: await readSignedHeads(h.db, handle.workflowId),
      checkpoints: readCheckpoints(path.join(keyDir, 'checkpoints.jsonl')),
      key: notary.signer.publicKey,
      workflowId: handle.workflowId,
    });
    expect(verdict).toMatchObject({ intact: true, chains: 1, sealed: 1, open: 0, problems: [] });
  });

  it('the audit API answers 401 without its token and the entries with it', async () => {
    const { handle } = await finishedContainment();
    const intake = buildIntake({
      client: h.env.client,
      taskQueue: h.taskQueue,
      logger: testLogger,
      db: h.db,
      auditToken: 'a'.repeat(32),
    });
    try {
      const url = `/v1/audit/entries?workflowId=${encodeURIComponent(handle.workflowId)}`;
      const ask = (authorization?: string) =>
        intake.inject({ url, remoteAddress: '127.0.0.1', headers: authorization ? { authorization } : {} });
      for (const refused of [await ask(), await ask(`Bearer ${'b'.repeat(32)}`), await ask('a'.repeat(32))]) {
        expect(refused.statusCode).toBe(401);
        expect(refused.json()).toMatchObject({ problems: [{ field: 'authorization' }] });
      }
      const answered = await ask(`Bearer ${'a'.repeat(32)}`);
      expect(answered.statusCode).toBe(200);
      expect(answered.json()).toEqual(await storedEntries(handle.workflowId));
      const heads = await intake.inject({ url: '/v1/audit/heads', remoteAddress: '127.0.0.1' });
      expect(heads.statusCode).toBe(401);
    } finally {
      await intake.close();
    }
  });

  it('replays recorded histories with the current workflow code (determinism guard)', async () => {
    const { handle } = await finishedContainment();
    const history = await handle.fetchHistory();
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        history,
        handle.workflowId,
      ),
    ).resolves.toBeUndefined();
  });
});
