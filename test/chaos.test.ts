// The chaos tooling's own guarantees: the invariant check counts every kind of violation it
// reports on, the unreliable provider keeps actions exactly-once, and `npm run chaos` runs
// end to end on a small scale. The full-size run is `npm run chaos` (BENCHMARKS.md).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions, readState } from '../activities/connectors/simulated/state';
import { createSimulatedConnector } from '../activities/connectors/simulated';
import { checkInvariants, exitCodeFor, summaryLine, type Expectation } from '../bench/support/invariants';
import type { AuditEntry } from '../src/audit/entry';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase, type Database } from '../src/db';
import type { CordonWorker } from '../worker/worker';
import { makeAlert } from './support/alerts';
import { runTs } from './support/processes';
import { TEST_POLICY, TestInventory } from './support/scenario';
import { startDevServer, startWorker } from './support/temporal';

describe('invariant check', () => {
  let env: TestWorkflowEnvironment;
  let db: Database;
  let worker: CordonWorker;
  let running: Promise<void>;
  const taskQueue = `chaos-check-${process.pid}`;
  const inventory = new TestInventory();
  const ACTIONS = ['restrict', 'revoke', 'rotate']; // the test policy's auto-full rule
  let contained: Expectation;

  async function containToClose(): Promise<Expectation> {
    const alert = makeAlert({ identity: { provider: 'simulated', id: inventory.add('auto') } });
    const { workflowId } = await submitAlert(env.client, taskQueue, alert, { searchAttributes: false });
    await env.client.workflow.getHandle(workflowId).result();
    return { identityId: alert.identity.id, alertIds: [alert.id], actions: ACTIONS };
  }

  beforeAll(async () => {
    env = await startDevServer();
    db = await openDatabase({});
    // Cases close right after containment, as in a chaos run.
    const policyFile = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-chaos-')), 'policy.yaml');
    writeFileSync(policyFile, stringify({ ...parse(readFileSync(TEST_POLICY, 'utf8')), caseHold: '1ms' }));
    worker = await startWorker(env, db, taskQueue, { policyFile, inventoryFile: inventory.file });
    running = worker.run();
    contained = await containToClose();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await Promise.all([db?.close(), env?.teardown()]);
  });

  it('passes a containment that closed cleanly, and says so in the summary line', async () => {
    const report = await checkInvariants(env.client, db, [contained]);
    expect(report).toMatchObject({ workflows: 1, lost: 0, duplicateActions: 0, auditMismatches: 0, problems: [] });
    expect(summaryLine(report)).toBe('chaos: 1 workflows, lost 0, duplicate actions 0, audit mismatches 0');
    expect(exitCodeFor(report)).toBe(0);
  });

  it('counts a provider action applied twice as a duplicate', async () => {
    const twice = await containToClose();
    await db.query(
      `INSERT INTO simulated_actions (action_key, identity_id, action) VALUES ('replayed', $1, 'revoke')`,
      [twice.identityId],
    );
    const report = await checkInvariants(env.client, db, [twice]);
    // The problems first: a failure then says what else was found.
    expect(report.problems).toEqual([`duplicateActions: ${twice.identityId}: revoke applied 2 times`]);
    expect(report).toMatchObject({ lost: 0, duplicateActions: 1, auditMismatches: 0 });
    expect(exitCodeFor(report)).toBe(1);
  });

  it('counts a stored audit entry the history does not have as a mismatch', async () => {
    const forged = await containToClose();
    const { rows } = await db.query<{ entry: AuditEntry }>(
      `SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq DESC LIMIT 1`,
      [`contain:simulated:${forged.identityId}`],
    );
    const entry = { ...rows[0].entry, seq: 999, event: 'action.applied', action: 'revoke' };
    await db.query(
      `INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ($1, $2, 999, $3, $4, $5::jsonb)`,
      [entry.workflowId, entry.runId, entry.hash, entry.prevHash, JSON.stringify(entry)],
    );
    const report = await checkInvariants(env.client, db, [forged]);
    expect(report.lost + report.duplicateActions).toBe(0);
    expect(report.auditMismatches).toBeGreaterThanOrEqual(2); // not in history; revoke recorded twice
    expect(report.problems.some((p) => p.includes('stored, not in history'))).toBe(true);
  });

  it('counts a case that never ran and an alert missing from a ledger as lost', async () => {
    const report = await checkInvariants(env.client, db, [
      { identityId: 'never-alerted', alertIds: ['a-1'], actions: ACTIONS },
      { ...contained, alertIds: [...contained.alertIds, 'dropped-alert'] },
    ]);
    expect(report.lost).toBe(1 + 1 + ACTIONS.length + 1); // no case, its alert, its actions; the dropped alert
    expect(report.duplicateActions).toBe(0);
  });

  it('counts a second case for one identity as a duplicate containment', async () => {
    const again = await containToClose();
    await await submitAlert(
      env.client,
      taskQueue,
      makeAlert({ identity: { provider: 'simulated', id: again.identityId } }),
      { searchAttributes: false, askDisposition: false },
    );
    await env.client.workflow.getHandle(`contain:simulated:${again.identityId}`).result();
    const report = await checkInvariants(env.client, db, [again]);
    expect(report.problems).toContain(`duplicateActions: contain:simulated:${again.identityId} has 2 cases`);
  });
});

describe('the unreliable simulated provider', () => {
  it('fails every call transiently at rate 1, yet applies each action once however often it is retried', async () => {
    const db = await openDatabase({});
    try {
      const connector = createSimulatedConnector(db, { faultRate: 1, latencyMs: 0 });
      const attempts = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          connector.actions.restrict!.run({ identityId: 'flaky', idempotencyKey: 'wf/run/1', caseId: 'c' }),
        ),
      );
      expect(attempts.every((a) => a.status === 'rejected')).toBe(true);
      const failures = attempts.map((a) => (a as PromiseRejectedResult).reason);
      expect(failures.every((f) => f.type === 'SimulatedTransientFault' && f.nonRetryable === false)).toBe(true);
      // Some faults struck after the effect: the action happened, exactly once.
      expect(failures.some((f) => f.message.includes('after it took effect'))).toBe(true);
      expect(await listActions(db, 'flaky')).toEqual(['restrict']);
      expect((await readState(db, 'flaky')).restricted).toBe(true);
      await expect(connector.snapshot('flaky')).rejects.toMatchObject({ type: 'SimulatedTransientFault' });
    } finally {
      await db.close();
    }
  });

  it('is the plain connector when no faults are configured', async () => {
    const db = await openDatabase({});
    try {
      const connector = createSimulatedConnector(db, { faultRate: 0, latencyMs: 0 });
      expect(
        (await connector.actions.revoke!.run({ identityId: 'steady', idempotencyKey: 'k', caseId: 'c' })).changed,
      ).toBe(true);
      expect(await connector.verify('steady', 'revoke', 'c')).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('npm run chaos', () => {
  it('exits 2 naming a bad option, before starting anything', async () => {
    const run = await runTs('bench/chaos.ts', ['--phases', 'kill,meteor'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--phases: unknown meteor');
  });

  it('kills the service, restarts the server and injects provider faults, then reports nothing lost', async () => {
    // At the bench's default 30% per provider call, an action's 8 attempts (up to 3 calls each) all
    // fail about 3% of the time: the case then rightly closes needs-attention, which this run counts
    // as lost (seen once in 18 actions on CI). At 15%, about 0.05% per action; faults still show.
    const run = await runTs('bench/chaos.ts', ['--workflows', '6', '--kills', '2', '--fault-rate', '0.15'], {
      CORDON_LOG_LEVEL: 'error',
    });
    expect(run.stdout).toMatch(/^kill: 6 containments .*"kills":\d/m);
    expect(run.stdout).toMatch(/^restart: 6 containments .*"serverRestarts":\d/m);
    expect(run.stdout).toMatch(/^faults: 6 containments .*failed activity executions \{"/m);
    expect(run.stdout).toContain('chaos: 18 workflows, lost 0, duplicate actions 0, audit mismatches 0');
    expect(run.code).toBe(0);
  }, 600_000);
});
