import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintPolicyText, type LintFinding } from '../src/policy/lint';
import { ROOT, runTs } from './support/processes';

// A small valid policy; each test appends its rules (and guards) below `rules:`.
const HEADER = `version: "lint-test"
approverGroups:
  secops: [alice@example.com, bob@example.com]
approvalDefaults:
  groups: [secops]
  required: 1
  selfApproval: false
  deadline: 4h
  reminderEvery: 1h
  escalation: []
  onTimeout: hold
  maxHold: 72h
governor:
  budget: { limit: 5, window: 1h, stages: [revoke] }
rules:
`;
const FALLBACK = `  - name: fallback
    when: { minConfidence: 0.5 }
    stages:
      - stage: observe
`;
const policyWith = (rules: string, rest = '') => `${HEADER}${rules}${rest}`;

/** 1-based line and column of the first occurrence of `needle` (after line `after`, if given). */
function positionOf(text: string, needle: string, after = 0): { line: number; col: number } {
  const lines = text.split('\n');
  const index = lines.findIndex((l, i) => i >= after && l.includes(needle));
  if (index < 0) throw new Error(`fixture has no "${needle}"`);
  return { line: index + 1, col: lines[index].indexOf(needle) + 1 };
}
const brief = (findings: LintFinding[]) =>
  findings.map((f) => ({ line: f.line, col: f.col, severity: f.severity, check: f.check }));

describe('policy lint: checks', () => {
  it('finds nothing in the shipped policy', () => {
    const text = readFileSync(path.join(ROOT, 'config', 'policy.yaml'), 'utf8');
    expect(lintPolicyText(text)).toEqual([]);
  });

  it('reports schema errors at the offending node: an unknown key at the key, a bad value at the value', () => {
    const text = policyWith(`  - name: typo
    whne: { minConfidence: 0.5 }
    stages:
      - stage: observe
        approval: maybe
`);
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'whne'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'maybe'), severity: 'error', check: 'schema' },
    ]);
    expect(findings[0].message).toContain('rules.0: Unrecognized key: "whne"');
    expect(findings[1].message).toMatch(/^rules\.0\.stages\.0\.approval: /);
  });

  it('reports YAML syntax errors with their position', () => {
    const findings = lintPolicyText('version: "x"\nrules:\n  - name: [unclosed\n');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', check: 'yaml' });
    expect(findings[0].line).toBeGreaterThanOrEqual(3);
  });

  it('reports conditions that can never hold, at the condition', () => {
    const text = policyWith(
      `  - name: zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
  - name: empty-range
    when: { minConfidence: 0.8, confidenceBelow: 0.5 }
    stages: [{ stage: observe }]
  - name: unknown-but-classed
    when: { known: false, classes: [agent] }
    stages: [{ stage: observe }]
${FALLBACK}`,
      `guards:
  - name: never
    when: { minConfidence: 0.9, confidenceBelow: 0.9 }
    requireApproval: [restrict]
`,
    );
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      { ...positionOf(text, '0 }'), severity: 'error', check: 'never-matches' },
      { ...positionOf(text, '0.5 }'), severity: 'error', check: 'never-matches' },
      { ...positionOf(text, '[agent]'), severity: 'error', check: 'never-matches' },
      { ...positionOf(text, '0.9 }'), severity: 'error', check: 'never-matches' },
    ]);
    expect(findings[2].message).toContain('known: false excludes them');
    expect(findings[3].message).toContain('guard "never" can never apply');
  });

  it('reports rules shadowed by a catch-all or a broader earlier rule, naming the earlier rule and its line', () => {
    const text = policyWith(`  - name: any-leak
    when: { kinds: [secret_leak, token_abuse], minConfidence: 0.5 }
    stages: [{ stage: restrict }]
  - name: ephemeral-leak
    when: { kinds: [secret_leak], classes: [ephemeral], minConfidence: 0.9 }
    stages: [{ stage: restrict }]
  - name: severe-leak
    when: { kinds: [secret_leak], minSeverity: high }
    stages: [{ stage: restrict }]
  - name: catch-all
    stages: [{ stage: observe }]
  - name: after-catch-all
    when: { known: true }
    stages: [{ stage: observe }]
`);
    const findings = lintPolicyText(text);
    // severe-leak is not shadowed: any-leak needs confidence >= 0.5, severe-leak does not.
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'name: ephemeral-leak'), severity: 'error', check: 'shadowed-rule' },
      { ...positionOf(text, 'name: after-catch-all'), severity: 'error', check: 'shadowed-rule' },
    ]);
    expect(findings[0].message).toContain(`rule "any-leak" (line ${positionOf(text, 'name: any-leak').line})`);
    expect(findings[1].message).toContain(
      `rule "catch-all" (line ${positionOf(text, 'name: catch-all').line}) has no conditions`,
    );
  });

  it('reports stages out of order or repeated, at the stage, even beside other schema errors', () => {
    const text = policyWith(`  - name: backwards
    when: { minConfidence: 0.5 }
    extra: true
    stages:
      - stage: restrict
      - stage: revoke
        approval: required
      - stage: isolate
      - stage: restrict
`);
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'extra'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'isolate'), severity: 'error', check: 'stage-order' },
      { ...positionOf(text, 'restrict', positionOf(text, 'isolate').line), severity: 'error', check: 'stage-order' },
    ]);
    expect(findings[1].message).toBe(
      'stage isolate is listed after revoke, but stages always run observe → restrict → isolate → verify-window → revoke → rotate: list isolate before revoke',
    );
    expect(findings[2].message).toContain('stage restrict is listed twice');
  });

  it('reports automatic revoke or rotate outside ephemeral identities at high confidence', () => {
    const text = policyWith(
      `  - name: ephemeral-ok
    when: { classes: [ephemeral], minConfidence: 0.95 }
    stages: [{ stage: revoke }, { stage: rotate }]
  - name: unknown-floor
    when: { known: false, minConfidence: 0.9 }
    stages: [{ stage: revoke }]
  - name: guarded
    when: { classes: [long-lived], environments: [production], minConfidence: 0.8 }
    stages: [{ stage: revoke }]
  - name: reckless
    when: { kinds: [secret_leak], classes: [ephemeral, batch], minConfidence: 0.8 }
    stages:
      - stage: restrict
      - stage: rotate
${FALLBACK}`,
      `guards:
  - name: prod-long-lived
    when: { classes: [long-lived, partner] }
    requireApproval: [revoke]
`,
    );
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      {
        ...positionOf(text, 'rotate', positionOf(text, 'name: reckless').line),
        severity: 'error',
        check: 'auto-destructive',
      },
    ]);
    expect(findings[0].message).toContain('rotate cannot be undone but runs without approval in rule "reckless"');
    expect(findings[0].message).toContain('this rule lacks classes limited to [ephemeral] and minConfidence ≥ 0.9');
  });

  it('reports approvals that can never complete and windows that do nothing', () => {
    const text = policyWith(`  - name: two-people-of-one
    when: { minConfidence: 0.5 }
    stages:
      - stage: restrict
        window: 5m
      - stage: revoke
        approval: required
        approvers: { required: 3 }
`);
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      { ...positionOf(text, '5m'), severity: 'warning', check: 'ignored-window' },
      { ...positionOf(text, '{ required: 3 }'), severity: 'error', check: 'unreachable-approval' },
    ]);
    expect(findings[1].message).toContain('needs 3 distinct approvals but its groups and escalation hold 2 people');
  });
});

describe('cordon policy lint', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-lint-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('exits 0 and prints nothing on stdout for the shipped policy', async () => {
    const result = await runTs('bin/cordon.js', ['policy', 'lint', 'config/policy.yaml'], {});
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toContain('config/policy.yaml: 0 error(s), 0 warning(s)');
  });

  it('exits 1 on errors, printing FILE:LINE:COL severity: message lines', async () => {
    const text = policyWith(
      `  - name: zero\n    when: { confidenceBelow: 0 }\n    stages: [{ stage: observe }]\n${FALLBACK}`,
    );
    const file = write('broken.yaml', text);
    const { line, col } = positionOf(text, '0 }');
    const result = await runTs('bin/cordon.js', ['policy', 'lint', file], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `${file}:${line}:${col} error: rule "zero" can never match: confidenceBelow: 0 holds for no alert (confidence is never below 0) [never-matches]\n`,
    );
  });

  it('exits 0 on warnings alone, 1 with --strict', async () => {
    const file = write(
      'warn.yaml',
      policyWith(`  - name: windowed\n    stages:\n      - stage: restrict\n        window: 5m\n`),
    );
    const plain = await runTs('bin/cordon.js', ['policy', 'lint', file], {});
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/warn\.yaml:\d+:\d+ warning: window is only used by verify-window/);
    expect((await runTs('bin/cordon.js', ['policy', 'lint', '--strict', file], {})).code).toBe(1);
  });

  it('exits 2 for a file it cannot read', async () => {
    const result = await runTs('bin/cordon.js', ['policy', 'lint', path.join(dir, 'missing.yaml')], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read');
  });
});
