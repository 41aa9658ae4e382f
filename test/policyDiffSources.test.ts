// `cordon policy diff --from-audit | --from-history`: what a proposed policy would have done to
// cases that really ran, each replayed as it ran (its first alert plans, each later one escalates),
// read from the audit store (PostgreSQL, as DATABASE_URL) and from Temporal's histories.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeAuditEntries } from '../activities/outbox';
import type { Alert } from '../src/alerts';
import { GENESIS_HASH, hashEntry, type AuditEntry } from '../src/audit/entry';
import { openDatabase } from '../src/db';
import { useHarness } from './support/harness';
import { startPostgres, type TestPostgres } from './support/postgres';
import { runTs } from './support/processes';
import { eventually, TEST_POLICY, testPolicyWith } from './support/scenario';

let pg: TestPostgres | undefined;
// Registered before the harness's hooks, so it runs after them: the worker and its pool are gone.
afterAll(() => pg?.stop());
const h = useHarness({
  database: async () => {
    pg = await startPostgres();
    return openDatabase({ url: pg.url });
  },
});

// The proposal under review: the auto rule's revoke and the escalated rule's restrict need approval.
const PROPOSED = testPolicyWith((p) => {
  const rule = (name: string) => p.rules.find((r: { name: string }) => r.name === name);
  rule('auto-full').stages[1] = { stage: 'revoke', approval: 'required' };
  rule('escalate-high').stages[1] = { stage: 'restrict', approval: 'required' };
});

const diff = (...args: string[]) =>
  runTs('bin/cordon.js', ['policy', 'diff', TEST_POLICY, PROPOSED, '--inventory', h.inventory.file, ...args], {
    DATABASE_URL: pg!.url,
    TEMPORAL_ADDRESS: h.env.address,
    CORDON_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cordon-diff-data-')),
  });

interface Report {
  from: unknown;
  cases: number;
  alerts: number;
  changed: { workflowId: string; alertIds: string[]; change: unknown }[];
  skipped: { workflowId: string; reason: string }[];
}
const report = (stdout: string) => JSON.parse(stdout) as Report;

// Waits until the cases stored these audit events for these alerts.
async function audited(event: string, alerts: Alert[]) {
  await eventually(async () => {
    const { rows } = await h.db.query<{ id: string }>(
      `SELECT entry->'alertIds'->>0 AS id FROM audit_entries WHERE entry->>'event' = $1`,
      [event],
    );
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(alerts.map((a) => a.id)));
  });
}

const caseOf = (alert: Alert) => `contain:simulated:${alert.identity.id}`;
const revokeGated = { stage: 'revoke', field: 'requiresApproval', before: false, after: true };
const restrictGated = { stage: 'restrict', field: 'requiresApproval', before: false, after: true };

// Three real cases: an automatic one alerted twice with the same alert, one no rule change
// touches, and one a second, stronger alert escalated (observe, then observe + restrict).
const auto = h.alertFor(h.inventory.add('auto'));
const quiet = h.alertFor(h.inventory.add('plain'));
const escalated = h.inventory.add('escalate');
const weak = h.alertFor(escalated, { confidence: 0.3 });
const strong = h.alertFor(escalated, { confidence: 0.9 });

describe('policy diff --from-audit', () => {
  it('replays each audited case in order and names the cases whose final plan changes', async () => {
    for (const alert of [auto, auto, quiet, weak]) await h.send(alert);
    await audited('alert.received', [auto, quiet, weak]);
    await audited('alert.duplicate', [auto]);
    await h.send(strong);
    await audited('alert.received', [strong]);

    const result = await diff('--from-audit', '--json');
    expect(result.code, result.stderr).toBe(0);
    const found = report(result.stdout);
    expect(found).toMatchObject({ from: { audit: {} }, cases: 3, alerts: 4, skipped: [] });
    expect(found.changed).toEqual([
      {
        workflowId: caseOf(auto),
        alertIds: [auto.id], // delivered twice, audited once as received
        identity: `simulated:${auto.identity.id}`,
        change: { stagesAdded: [], stagesRemoved: [], stageChanges: [revokeGated] },
      },
      {
        // The weak alert alone plans observe under both; the strong one adds restrict, now gated.
        workflowId: caseOf(weak),
        alertIds: [weak.id, strong.id],
        identity: `simulated:${escalated}`,
        change: { stagesAdded: [], stagesRemoved: [], stageChanges: [restrictGated] },
      },
    ]);

    const text = await diff('--from-audit');
    expect(text.stdout).toContain('2 of 3 case(s) (4 alert(s) replayed) plan differently');
    expect(text.stdout).toContain(
      `\n${caseOf(weak)} (alerts ${weak.id}, ${strong.id}):\n  restrict: now requires approval\n`,
    );
    expect(text.stdout).toContain(`\n${caseOf(auto)} (alert ${auto.id}):\n  revoke: now requires approval\n`);
  });

  it('reports an audited case whose history is gone instead of guessing its alerts', async () => {
    const chain = randomUUID();
    const body = {
      workflowId: 'contain:simulated:long-gone',
      chain,
      runId: chain,
      seq: 1,
      at: '2020-01-01T00:00:00.000Z',
      identity: 'simulated:long-gone',
      stage: 'received',
      event: 'alert.received',
      actor: 'forwarder:test',
      alertIds: ['long-gone-1'],
      evidence: [],
      frameworks: [],
      prevHash: GENESIS_HASH,
    };
    await storeAuditEntries(h.db, [{ ...body, hash: hashEntry(body) } as AuditEntry]);

    const result = await diff('--from-audit', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(report(result.stdout)).toMatchObject({
      cases: 3,
      skipped: [
        { workflowId: 'contain:simulated:long-gone', reason: expect.stringMatching(/history of run .* is gone/) },
      ],
    });
    expect((await diff('--from-audit')).stdout).toContain('not replayed: contain:simulated:long-gone: the history');
  });

  it('--since keeps only the cases that received an alert at or after it', async () => {
    const since = new Date().toISOString();
    const later = h.alertFor(h.inventory.add('auto'));
    await h.send(later);
    await audited('alert.received', [later]);

    const result = await diff('--from-audit', '--since', since, '--json');
    expect(result.code, result.stderr).toBe(0);
    const found = report(result.stdout);
    expect(found).toMatchObject({ from: { audit: { since } }, cases: 1, alerts: 1, skipped: [] });
    expect(found.changed.map((c) => c.workflowId)).toEqual([caseOf(later)]);

    const none = await diff('--from-audit', '--since', '2999-01-01T00:00:00Z');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no case in the audit store received an alert since 2999-01-01T00:00:00Z');
  });
});

describe('policy diff --from-history', () => {
  it('replays the cases a visibility query matches from their histories', async () => {
    const result = await diff('--from-history', `WorkflowId = '${caseOf(weak)}'`, '--json');
    expect(result.code, result.stderr).toBe(0);
    const found = report(result.stdout);
    expect(found).toMatchObject({ from: { history: `WorkflowId = '${caseOf(weak)}'` }, cases: 1, alerts: 2 });
    expect(found.changed).toEqual([
      expect.objectContaining({ workflowId: caseOf(weak), alertIds: [weak.id, strong.id] }),
    ]);

    const all = report((await diff('--from-history', "WorkflowType = 'containIdentity'", '--json')).stdout);
    expect(all.changed.map((c) => c.workflowId)).toEqual(expect.arrayContaining([caseOf(auto), caseOf(weak)]));
    expect(all.changed.map((c) => c.workflowId)).not.toContain(caseOf(quiet));
    expect(all.changed.find((c) => c.workflowId === caseOf(auto))?.alertIds).toEqual([auto.id]);
  });

  it('exits 2 for a query that matches no case, or that the server cannot parse', async () => {
    const none = await diff('--from-history', "WorkflowId = 'contain:simulated:nobody'");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no containment case matches WorkflowId = 'contain:simulated:nobody'");
    const invalid = await diff('--from-history', 'WorkflowId = = 1');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('invalid visibility query');
  });
});
