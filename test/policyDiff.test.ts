import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts';
import { casesFromFolder, loadAlerts } from '../src/cli/diffSources';
import { comparePolicies, readPolicies } from '../src/cli/policyCommands';
import { lintPolicyText } from '../src/policy/lint';
import { ROOT, runTs } from './support/processes';

const POLICY = path.join(ROOT, 'config', 'policy.yaml');
const SCENARIOS = path.join(ROOT, 'test', 'scenarios');
const ALERTS = path.join(SCENARIOS, 'alerts');
const INVENTORY = path.join(SCENARIOS, 'inventory.yaml');

// The scenario alerts, each its own case, planned under two policy files.
const compare = (oldFile: string, newFile: string) =>
  comparePolicies(readPolicies(oldFile, newFile, INVENTORY), casesFromFolder(ALERTS));

function edit(text: string, from: string, to: string): string {
  if (text.split(from).length !== 2) throw new Error(`the shipped policy no longer has exactly one "${from}"`);
  return text.replace(from, to);
}

// The shipped policy with two edits a reviewer must notice: the low-confidence threshold rises
// to 0.8, and the agent rule revokes without approval and rolls back a failed isolation.
const dir = mkdtempSync(path.join(tmpdir(), 'cordon-diff-'));
const CHANGED = path.join(dir, 'changed.yaml');
let changedText = readFileSync(POLICY, 'utf8');
changedText = edit(changedText, 'when: { confidenceBelow: 0.5 }', 'when: { confidenceBelow: 0.8 }');
changedText = edit(
  changedText,
  '      - stage: isolate\n      - stage: verify-window\n      - stage: revoke\n        approval: required\n\n  - name: high-confidence-compromise',
  '      - stage: isolate\n        onFailure: rollback\n      - stage: verify-window\n      - stage: revoke\n\n  - name: high-confidence-compromise',
);
writeFileSync(CHANGED, changedText);

describe('policy diff', () => {
  it('reports nothing when the policies plan alike', () => {
    const report = compare(POLICY, POLICY);
    expect(report).toMatchObject({ cases: 8, alerts: 8, changed: [], settings: [], skipped: [] });
    expect(report.old.digest).toBe(report.new.digest);
  });

  it('names the rule, removed stages and per-stage changes of each affected alert, and only those', () => {
    const report = compare(POLICY, CHANGED);
    expect(report.new.digest).not.toBe(report.old.digest);
    expect(report.changed.map((c) => ('file' in c ? path.basename(c.file) : c.workflowId))).toEqual([
      'agent-out-of-scope.json',
      'partner-integration.json',
    ]);
    expect(report.changed[0]).toMatchObject({
      alertIds: ['scenario-agent-scope-1'],
      identity: 'simulated:agent-support-copilot',
    });
    expect(report.changed[0].change).toEqual({
      stagesAdded: [],
      stagesRemoved: [],
      stageChanges: [
        { stage: 'isolate', field: 'onFailure', before: 'hold', after: 'rollback' },
        { stage: 'revoke', field: 'requiresApproval', before: true, after: false },
      ],
    });
    expect(report.changed[1].change).toEqual({
      rule: { before: 'medium-confidence-restrict', after: 'low-confidence-observe-only' },
      stagesAdded: [],
      stagesRemoved: ['restrict', 'verify-window'],
      stageChanges: [],
    });
  });

  it('reports policy-wide settings no plan shows: the shadow switch, approvers, budget, case hold', async () => {
    const quiet = path.join(dir, 'shadow-on.yaml');
    writeFileSync(quiet, `${readFileSync(POLICY, 'utf8')}\nshadow: true\n`);
    const report = compare(POLICY, quiet);
    expect(report.changed).toEqual([]);
    expect(report.settings).toEqual([{ field: 'shadow', before: undefined, after: true }]);
    const run = await runTs(
      'bin/cordon.js',
      ['policy', 'diff', POLICY, quiet, '--alerts', ALERTS, '--inventory', INVENTORY, '--fail-on-change'],
      {},
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('policy-wide shadow: undefined → true');
    expect(lintPolicyText(readFileSync(quiet, 'utf8'))).toContainEqual(
      expect.objectContaining({ severity: 'warning', check: 'shadow-switch' }),
    );
  });

  it('lists added stages with their gate', () => {
    const report = compare(CHANGED, POLICY);
    expect(report.changed[1].change.stagesAdded).toEqual([
      { stage: 'restrict', requiresApproval: false, onTimeout: 'hold' },
      { stage: 'verify-window', requiresApproval: false, onTimeout: 'hold' },
    ]);
  });

  it('replays a case as it ran: the first alert plans, each later one escalates, and the final plans are compared', () => {
    const [low] = loadAlerts(path.join(ALERTS, 'low-confidence-anomaly.json'));
    const medium = { ...low.alert, id: 'scenario-low-confidence-2', confidence: 0.6 };
    const policies = readPolicies(POLICY, CHANGED, INVENTORY);
    const replay = (alerts: Alert[]) =>
      comparePolicies(policies, { cases: [{ origin: { workflowId: 'contain:x' }, alerts }], skipped: [] });
    // The first alert alone observes under both; the second restricts under the old policy only.
    expect(replay([low.alert]).changed).toEqual([]);
    expect(replay([low.alert, medium]).changed).toEqual([
      {
        workflowId: 'contain:x',
        alertIds: ['scenario-low-confidence-1', 'scenario-low-confidence-2'],
        identity: 'simulated:svc-inventory-sync',
        change: {
          rule: {
            before: 'low-confidence-observe-only + medium-confidence-restrict',
            after: 'low-confidence-observe-only',
          },
          stagesAdded: [],
          stagesRemoved: ['restrict', 'verify-window'],
          stageChanges: [],
        },
      },
    ]);
  });

  it('is backed by lint: the automatic revoke in the changed policy is an error there', () => {
    expect(lintPolicyText(changedText).map((f) => f.check)).toEqual(['auto-destructive']);
  });
});

describe('cordon policy diff', () => {
  const diff = (...args: string[]) => runTs('bin/cordon.js', ['policy', 'diff', ...args], {});

  it('prints each changed plan readably and exits 0; --fail-on-change exits 1', async () => {
    const result = await diff(POLICY, CHANGED, '--alerts', ALERTS, '--inventory', INVENTORY);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `${POLICY} (2026-12-07.1) → ${CHANGED} (2026-12-07.1): 2 of 8 alert(s) plan differently`,
    );
    expect(result.stdout).toContain(
      [
        `${path.join(ALERTS, 'agent-out-of-scope.json')} (alert scenario-agent-scope-1, simulated:agent-support-copilot):`,
        '  isolate: onFailure hold → rollback',
        '  revoke: no longer requires approval (automatic)',
      ].join('\n'),
    );
    expect(result.stdout).toContain(
      '  rule: medium-confidence-restrict → low-confidence-observe-only\n  restrict: removed\n  verify-window: removed\n',
    );
    const gate = await diff(POLICY, CHANGED, '--alerts', ALERTS, '--inventory', INVENTORY, '--fail-on-change');
    expect(gate.code).toBe(1);
  });

  it('prints JSON with --json, and reads alerts in every supported format', async () => {
    const result = await diff(
      POLICY,
      POLICY,
      '--alerts',
      path.join(ROOT, 'examples', 'alerts'),
      '--json',
      '--fail-on-change',
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { alerts: number; changed: unknown[] };
    expect(report).toMatchObject({ alerts: 7, changed: [] });
  });

  it('exits 2 unless exactly one source is named, and for --since without --from-audit or not a time', async () => {
    const usage = async (args: string[], message: string) => {
      const result = await diff(POLICY, POLICY, ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    };
    const oneOf = 'policy diff needs exactly one of --alerts DIR, --from-audit, --from-history QUERY';
    await usage([], oneOf);
    await usage(['--alerts', ALERTS, '--from-audit'], oneOf);
    await usage(['--from-audit', '--from-history', "WorkflowType = 'containIdentity'"], oneOf);
    await usage(['--alerts', ALERTS, '--since', '2026-11-01T00:00:00Z'], '--since goes with --from-audit');
    await usage(['--from-audit', '--since', 'last month'], '--since last month: not an ISO time');
    await usage(['--from-history', ' '], '--from-history needs a visibility query');
    // Six CLI runs: on a loaded 2-core machine each can take ten seconds or more.
  }, 300_000);

  it('exits 2 for an invalid policy or a missing alerts folder', async () => {
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\n');
    expect((await diff(POLICY, broken, '--alerts', ALERTS)).code).toBe(2);
    const missing = await diff(POLICY, POLICY, '--alerts', path.join(dir, 'nowhere'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });
});
