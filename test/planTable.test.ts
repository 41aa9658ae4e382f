// `cordon plan`'s table: what a person reads before an alert is sent. Pure, so no servers.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts';
import { findIdentity } from '../src/inventory';
import { loadInventory, loadPolicy, plan, PolicySchema } from '../src/policy';
import { formatPlanTable, wrap } from '../src/policy/planTable';
import { makeAlert } from './support/alerts';

const policy = loadPolicy(path.join(__dirname, '..', 'config', 'policy.yaml'));
const inventory = loadInventory(path.join(__dirname, '..', 'config', 'inventory.yaml'));

function tableFor(id: string, overrides: Partial<Alert> = {}, under = policy) {
  const alert = makeAlert({ identity: { provider: 'simulated', id }, ...overrides });
  return formatPlanTable(plan(alert, findIdentity(inventory, alert.identity), under)).split('\n');
}

// The lines of one stage's row: its first line and the continuation lines under it.
function rowOf(lines: string[], stage: string): string[] {
  const start = lines.findIndex((l) => l.startsWith(`${stage} `));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith(' '));
  return lines.slice(start, end);
}

// The text of one column of a row, its wrapped lines joined, cut at the header's column offsets.
function column(lines: string[], stage: string, title: string): string {
  const header = lines.find((l) => l.startsWith('STAGE'))!;
  const titles = header.split(/\s{2,}/);
  const from = header.indexOf(title);
  const next = titles[titles.indexOf(title) + 1];
  const to = next ? header.indexOf(next) : undefined;
  return rowOf(lines, stage)
    .map((l) => l.slice(from, to).trim())
    .filter(Boolean)
    .join(' ');
}

describe('the plan table', () => {
  const lines = tableFor('svc-deploy-bot', { confidence: 0.9, severity: 'high' });

  it('heads the table with the rule, the identity as the inventory knows it, and the policy', () => {
    expect(lines.slice(0, 3)).toEqual([
      'rule      high-confidence-compromise',
      'identity  simulated:svc-deploy-bot (known; long-lived, production, criticality high)',
      expect.stringMatching(/^policy {4}2026-12-07\.1 \(sha256:[0-9a-f]{12}\)$/),
    ]);
  });

  it('gives each stage its approval, deadline, timeout, reversibility and the plan’s reason', () => {
    expect(
      lines.filter((l) => /^[a-z]/.test(l) && !/^(rule|identity|policy|out) /.test(l)).map((l) => l.split(' ')[0]),
    ).toEqual(['observe', 'restrict', 'isolate', 'verify-window', 'revoke', 'rotate']);
    expect(column(lines, 'restrict', 'APPROVAL')).toBe('auto');
    expect(column(lines, 'restrict', 'DEADLINE')).toBe('-');
    expect(column(lines, 'isolate', 'APPROVAL')).toBe('1 of secops then secops-leads, ciso-office');
    expect(column(lines, 'isolate', 'DEADLINE')).toBe('4h');
    expect(column(lines, 'isolate', 'ON-TIMEOUT')).toBe('hold');
    expect(column(lines, 'isolate', 'REVERSIBLE')).toBe('yes');
    expect(column(lines, 'revoke', 'REVERSIBLE')).toBe('no');
    expect(column(lines, 'verify-window', 'ACTION')).toBe('wait 15m');
    // Wrapped after the hyphens of a long guard name, the reason reads back whole.
    expect(column(lines, 'revoke', 'REASON').replaceAll('- ', '-')).toBe(
      'approval required by rule; approval forced by guard "production-long-lived-destructive-steps"',
    );
  });

  it('stays near 100 columns: only the reason wraps past the fixed columns, and no line trails spaces', () => {
    const header = lines.find((l) => l.startsWith('STAGE'))!;
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(header.indexOf('REASON') + 30);
      expect(line).toBe(line.trimEnd());
    }
  });

  it('names n of m with every group, and lists the stages left out with why', () => {
    const twoGroups = PolicySchema.parse({
      ...policy,
      rules: [
        {
          name: 'two-person',
          stages: [
            {
              stage: 'restrict',
              approval: 'required',
              approvers: { groups: ['secops', 'secops-leads'], required: 2, escalation: [] },
            },
          ],
        },
      ],
    });
    const out = tableFor('svc-deploy-bot', {}, twoGroups);
    expect(column(out, 'restrict', 'APPROVAL')).toBe('2 of secops+secops-leads');
    expect(out).toContain('out       observe, isolate, verify-window, revoke, rotate: not in rule "two-person"');
  });

  it('says when the identity is not in the inventory, and why the floor gates a revoke', () => {
    const unknown = tableFor('nobody-knows-me', { confidence: 0.9 });
    expect(unknown[1]).toBe('identity  simulated:nobody-knows-me (unknown: not in the inventory)');
    expect(column(unknown, 'revoke', 'APPROVAL')).toBe('2 of secops then secops-leads, ciso-office');
    const shared = tableFor('shared-reporting-key', { confidence: 0.9 });
    expect(shared[1]).toBe(
      'identity  simulated:shared-reporting-key (known; batch, shared, production, criticality medium)',
    );
  });
});

describe('wrap', () => {
  it('breaks at spaces, then after hyphens of a long word, and cuts only what is still too long', () => {
    expect(wrap('approval forced by guard', 12)).toEqual(['approval', 'forced by', 'guard']);
    expect(wrap('guard "wide-blast-radius"', 16)).toEqual(['guard "wide-', 'blast-radius"']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrap('', 10)).toEqual(['']);
  });
});
