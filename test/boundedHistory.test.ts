// Issue 21, "bounded histories": 52 alerts of 1 MiB each (more than Temporal's 50 MB history
// limit) sent to one case waiting for approval. The case keeps its request, acts once when
// approved, audits what it shed, and its histories stay small enough to rebuild the audit from.
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import { compareWithHistory, entriesFromHistories } from '../src/audit/rebuild';
import { retriesExceptOversize } from '../src/client/connect';
import { openDatabase } from '../src/db';
import { digestOf } from '../src/digest';
import { EvidenceStore } from '../src/evidence/store';
import { alertSignal, approveSignal, statusQuery, type ContainmentStatus } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { SIEM, startIntake, type Posted } from './support/intake';
import { containment, eventually, pendingRequestId, testPolicyWith, waitForStatus } from './support/scenario';

const ATTACK_ALERTS = 52;
const MiB = 1024 * 1024;
const ALERTS_PER_MINUTE = 30;
// Temporal ends a workflow whose history passes 50 MiB.
const TEMPORAL_HISTORY_LIMIT = 50 * MiB;

const h = useHarness({
  policyFile: testPolicyWith((p) => {
    p.rules.unshift({
      name: 'gated-restrict',
      when: { environments: ['gated-restrict'] },
      stages: [{ stage: 'restrict', approval: 'required' }],
    });
    p.caseLimits = { alertsPerMinute: ALERTS_PER_MINUTE };
  }),
});

/** An alert carrying 1 MiB of evidence, each different (the store keeps one row per digest). */
const hugeAlert = (id: string, n: number) =>
  h.alertFor(id, { id: `flood-${n}`, source: 'siem', evidence: { dump: `${n}:`.padEnd(MiB, 'x') } });

async function storedEntries(workflowId: string): Promise<AuditEntry[]> {
  const { rows } = await h.db.query<{ entry: AuditEntry }>(
    'SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq',
    [workflowId],
  );
  return rows.map((r) => r.entry);
}

async function runsOf(workflowId: string) {
  const runs = [];
  for await (const run of h.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const description = await h.env.client.workflow.getHandle(workflowId, run.runId).describe();
    runs.push({ runId: run.runId, historyBytes: Number(description.raw.workflowExecutionInfo?.historySizeBytes) });
  }
  return runs;
}

// A case on a gated restrict, waiting for its approval: its request id.
async function caseWaitingForApproval() {
  const id = h.inventory.add('gated-restrict');
  await h.send(h.alertFor(id, { source: 'siem' }));
  const handle = containment(h.env.client, id);
  return { id, handle, requestId: await pendingRequestId(handle, 'restrict') };
}

// Approving acts once: restrict applied exactly once at the (simulated) provider.
async function approveAndExpectOneRestrict(id: string, handle: ReturnType<typeof containment>, requestId: string) {
  await handle.signal(approveSignal, { requestId, approver: 'alice' });
  await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
  expect(await listActions(h.db, id)).toEqual(['restrict']);
  const { rows } = await h.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM simulated_actions WHERE identity_id = $1 AND action = 'restrict'",
    [id],
  );
  expect(rows[0].n).toBe(1);
}

const shedEntries = (entries: AuditEntry[]) => entries.filter((e) => e.event === 'alerts.shed');
const shedCounted = (entries: AuditEntry[]) =>
  shedEntries(entries).reduce((n, e) => n + (e.result as { shed: { rate: number; bytes: number } }).shed.rate, 0);

// At most this many tries per alert: a forwarder retries what the intake answers 503 ("retry it").
const FORWARDER_TRIES = 5;
// Shorter than the answer's Retry-After (5 s), which could carry the flood past the case's minute.
const FORWARDER_BACKOFF_MS = 1_000;

/**
 * Posts `count` alerts, `inFlight` at a time, as a forwarder would: an alert answered 503 (the
 * handover outran its deadline on a loaded machine) is sent again. Returns the last answers and
 * how many were sent again; a 503 may still have reached the case, which the counts allow for.
 */
async function forwardConcurrently(post: (n: number) => Promise<Posted>, count: number, inFlight = 4) {
  const answers: Posted[] = [];
  let resent = 0;
  let next = 0;
  const sender = async () => {
    for (let n = next++; n < count; n = next++) {
      for (let tries = 1; ; tries++) {
        answers[n] = await post(n);
        if (answers[n].status !== 503 || tries === FORWARDER_TRIES) break;
        resent++;
        await delay(FORWARDER_BACKOFF_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  return { answers, resent };
}

describe('a flood of 1 MiB alerts on a case waiting for approval', () => {
  it('through the intake: evidence goes to the store, the history stays small, the rest is shed and audited', async () => {
    const intake = await startIntake(h.env.client, h.taskQueue, { db: h.db, maxBodyBytes: 1.5 * MiB });
    try {
      const { id, handle, requestId } = await caseWaitingForApproval();
      const bearer = { authorization: `Bearer ${SIEM.token}` };
      const { answers, resent } = await forwardConcurrently(
        (n) => intake.post('/v1/alerts', hugeAlert(id, n), bearer),
        ATTACK_ALERTS,
      );

      // Every alert was taken (merged, or taken with its disposition still pending) or shed.
      const shed = answers.filter((a) => a.status === 429);
      const taken = answers.filter((a) => a.status === 200 || a.status === 202);
      expect(answers.filter((a) => !taken.includes(a) && !shed.includes(a))).toEqual([]);
      const merged = taken.filter((a) => a.body.disposition === 'merged');
      // Taken, but the disposition query timed out: kept or shed, the answer cannot say which.
      const pending = taken.filter((a) => a.body.disposition === 'pending');
      // 'duplicate' only for an alert sent again after its first try reached the case.
      expect(taken.filter((a) => !['merged', 'pending', 'duplicate'].includes(a.body.disposition))).toEqual([]);
      expect(taken.filter((a) => a.body.disposition === 'duplicate').length).toBeLessThanOrEqual(resent);
      // The case took its first alert and as many more as its minute allows: the rest were shed.
      expect(merged.length).toBeLessThanOrEqual(ALERTS_PER_MINUTE - 1);
      expect(shed[0]).toMatchObject({ body: { disposition: 'shed', problems: [{ field: '(case)' }] } });
      expect(shed[0].headers.get('retry-after')).toBe('60');

      // The case counts each delivery once: every alert is kept or shed, plus at most the resent
      // ones; what it kept and shed matches the answers but for those pending and resent.
      const counted = (s: ContainmentStatus) => s.alerts.length - 1 + (s.shed?.rate ?? 0);
      const status: ContainmentStatus = await waitForStatus(handle, (s) =>
        expect(counted(s)).toBeGreaterThanOrEqual(ATTACK_ALERTS),
      );
      expect(counted(status)).toBeLessThanOrEqual(ATTACK_ALERTS + resent);
      expect(status).toMatchObject({ waitingFor: 'approval', pendingRequest: { requestId } });
      const kept = new Set(status.alerts.map((a) => a.id));
      expect(merged.filter((a) => !kept.has(a.body.alertId as string))).toEqual([]);
      expect(status.alerts.length - 1).toBeLessThanOrEqual(merged.length + pending.length + resent);
      expect(status.shed?.rate).toBeGreaterThanOrEqual(shed.length);
      expect(status.shed?.rate).toBeLessThanOrEqual(shed.length + pending.length + resent);
      if (resent || pending.length)
        console.info(`intake flood: ${resent} alerts answered 503 and sent again, ${pending.length} pending`);
      // The fingerprint the case keeps is the evidence's own digest; the store gives the evidence back.
      const first = status.alerts.map((a) => a.id).find((alertId) => /flood-\d+$/.test(alertId));
      if (!first) throw new Error('the case kept none of the flood');
      const evidence = { dump: `${first.split('-').pop()}:`.padEnd(MiB, 'x') };
      expect(status.alerts.find((a) => a.id === first)?.evidence).toBe(digestOf(evidence));
      expect(await new EvidenceStore(h.db).read(digestOf(evidence))).toEqual(evidence);
      const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_evidence');
      expect(rows[0].n).toBeGreaterThanOrEqual(ATTACK_ALERTS);

      const [run, ...more] = await runsOf(handle.workflowId);
      expect(more).toEqual([]);
      expect(run.historyBytes).toBeLessThan(MiB);
      console.info(`intake flood: ${ATTACK_ALERTS} x 1 MiB sent, case history ${run.historyBytes} bytes`);

      await approveAndExpectOneRestrict(id, handle, requestId);
      const stored = await storedEntries(handle.workflowId);
      // Read once the case has closed: a handover answered 503 may have landed after `status`.
      expect(shedCounted(stored)).toBe((await handle.query(statusQuery)).shed?.rate);
      expect(shedEntries(stored).length).toBeLessThan(shed.length); // aggregated, not one per alert
      expect(verifyChain(stored)).toBeNull();
      const rebuilt = await entriesFromHistories(h.env.client, handle.workflowId);
      expect(compareWithHistory(stored, rebuilt)).toMatchObject({ matches: true, compared: stored.length });
    } finally {
      await intake.close();
    }
  }, 300_000);

  it('straight to Temporal: the case continues as new with its request, and the audit rebuilds page by page', async () => {
    const { id, handle, requestId } = await caseWaitingForApproval();
    // No intake stores this evidence: every signal carries its full 1 MiB into history. Each is
    // taken in before the next (a query waits for the workflow task): signals far faster than a
    // worker decodes them time its workflow tasks out whatever the workflow does (README).
    for (let n = 0; n < ATTACK_ALERTS; n++) {
      await handle.signal(alertSignal, hugeAlert(id, n));
      await handle.query(statusQuery);
    }

    const status = await waitForStatus(
      handle,
      (s) => expect(s.alerts.length - 1 + (s.shed?.rate ?? 0) + (s.shed?.bytes ?? 0)).toBe(ATTACK_ALERTS),
      120_000,
    );
    expect(status).toMatchObject({ waitingFor: 'approval', pendingRequest: { requestId, approvals: [] } });
    expect(status.shed?.rate).toBeGreaterThan(0);
    const runs = await eventually(async () => {
      const found = await runsOf(handle.workflowId);
      expect(found.length).toBeGreaterThan(1);
      return found;
    });
    const total = runs.reduce((n, r) => n + r.historyBytes, 0);
    expect(total).toBeGreaterThan(TEMPORAL_HISTORY_LIMIT);
    for (const run of runs) expect(run.historyBytes).toBeLessThan(8 * MiB);
    console.info(`direct flood: ${runs.length} runs, history bytes ${runs.map((r) => r.historyBytes).join(', ')}`);

    await approveAndExpectOneRestrict(id, handle, requestId);
    const stored = await storedEntries(handle.workflowId);
    expect(verifyChain(stored)).toBeNull();
    expect(shedCounted(stored)).toBe(status.shed?.rate);
    expect(stored.filter((e) => e.event === 'approval.requested')).toHaveLength(1);
    expect(stored.filter((e) => e.event === 'case.continued').length).toBe(runs.length - 1);

    // A reader whose gRPC messages stop at 2 MiB cannot take a run's history in one answer, but
    // can page through it.
    const connection = await Connection.connect({
      address: h.env.address,
      channelArgs: { max_receive_message_length: 2 * MiB },
      interceptors: [retriesExceptOversize],
    });
    try {
      const narrow = new Client({ connection, namespace: h.env.namespace ?? 'default' });
      const largest = runs.reduce((a, b) => (b.historyBytes > a.historyBytes ? b : a));
      await expect(narrow.workflow.getHandle(handle.workflowId, largest.runId).fetchHistory()).rejects.toThrow(
        /larger than max/,
      );
      const rebuilt = await entriesFromHistories(narrow, handle.workflowId);
      expect(compareWithHistory(stored, rebuilt)).toMatchObject({ matches: true, compared: stored.length });
    } finally {
      await connection.close();
    }
  }, 600_000);
});

describe('large evidence at the intake', () => {
  const bearer = { authorization: `Bearer ${SIEM.token}` };

  it("refuses a forwarder's evidence shaped like a stored reference: it would fingerprint nothing stored", async () => {
    const intake = await startIntake(h.env.client, h.taskQueue, { db: h.db });
    try {
      const alert = h.alertFor(h.inventory.add('gated-restrict'), {
        source: 'siem',
        evidence: { evidenceRef: digestOf({ made: 'up' }), evidenceBytes: 5 },
      });
      expect(await intake.post('/v1/alerts', alert, bearer)).toMatchObject({
        status: 400,
        body: { problems: [{ field: 'evidence' }] },
      });
      await expect(containment(h.env.client, alert.identity.id).describe()).rejects.toThrow(WorkflowNotFoundError);
    } finally {
      await intake.close();
    }
  });

  it('answers 503 and starts nothing when the store for large evidence cannot be written', async () => {
    const closed = await openDatabase({});
    await closed.close();
    const intake = await startIntake(h.env.client, h.taskQueue, { db: closed, maxBodyBytes: 1.5 * MiB });
    try {
      const alert = hugeAlert(h.inventory.add('gated-restrict'), 0);
      const answer = await intake.post('/v1/alerts', alert, bearer);
      expect(answer).toMatchObject({ status: 503, body: { problems: [{ message: 'store unavailable' }] } });
      expect(answer.headers.get('retry-after')).toBe('5');
      await expect(containment(h.env.client, alert.identity.id).describe()).rejects.toThrow(WorkflowNotFoundError);
    } finally {
      await intake.close();
    }
  });
});
