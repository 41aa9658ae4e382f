import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFinding, lintPolicyText, type LintFinding } from '../src/policy/lint';
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

  it('reports YAML syntax errors with their position, and still checks the parts they leave whole', () => {
    // A duplicate key spoils its rule (which value won is a guess); the next rule is still checked.
    const text = policyWith(`  - name: twice
    when: { minConfidence: 0.5 }
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
  - name: zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
`);
    expect(brief(lintPolicyText(text))).toEqual([
      { ...positionOf(text, 'when', positionOf(text, 'minConfidence: 0.5').line), severity: 'error', check: 'yaml' },
      { ...positionOf(text, '0 }', positionOf(text, 'name: zero').line), severity: 'error', check: 'never-matches' },
    ]);

    // Better than before: the fields this file lacks are reported beside the YAML error.
    const short = lintPolicyText('version: "x"\nrules:\n  - name: [unclosed\n');
    expect(short.map((f) => [f.line, f.check, f.message.split(':')[0]])).toEqual([
      [1, 'schema', 'approverGroups'],
      [1, 'schema', 'approvalDefaults'],
      [1, 'schema', 'governor'],
      [4, 'yaml', 'Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ]);
  });

  it('does not report the fields a YAML error swallowed as missing, nor check a document with no usable root', () => {
    const unclosed = policyWith(
      `  - name: zero\n    when: { confidenceBelow: 0 }\n    stages: [{ stage: observe }]\n`,
    ).replace('deadline: 4h', 'deadline: "4h');
    expect(lintPolicyText(unclosed).map((f) => f.check)).toEqual(['yaml']);
    const notAMap = lintPolicyText('- a\nversion: 1\n');
    expect(notAMap.length).toBeGreaterThan(0);
    expect(notAMap.every((f) => f.check === 'yaml')).toBe(true);
    expect(brief(lintPolicyText('version: *nowhere\n'))).toEqual([
      { line: 1, col: 1, severity: 'error', check: 'yaml' },
    ]);
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

  it('counts providers in shadowing: a rule for one provider shadows only rules for the same providers', () => {
    const text = policyWith(`  - name: github-any
    when: { providers: [github, gitlab] }
    stages: [{ stage: observe }]
  - name: github-leak
    when: { providers: [github], kinds: [secret_leak] }
    stages: [{ stage: observe }]
  - name: any-leak
    when: { kinds: [secret_leak] }
    stages: [{ stage: observe }]
`);
    expect(brief(lintPolicyText(text))).toEqual([
      { ...positionOf(text, 'name: github-leak'), severity: 'error', check: 'shadowed-rule' },
    ]);
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

// One policy with problems of every layer: schema (an unknown key, a bad enum value, an unknown
// approver group), stage order, and the logic checks.
const MANY_PROBLEMS = policyWith(`  - name: typo
    whne: { minConfidence: 0.5 }
    stages: [{ stage: observe }]
  - name: bad-enum
    when: { minSeverity: severe }
    stages: [{ stage: observe }]
  - name: zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
  - name: any-leak
    when: { kinds: [secret_leak], minConfidence: 0.5 }
    stages:
      - stage: restrict
      - stage: revoke
  - name: sure-leak
    when: { kinds: [secret_leak], minConfidence: 0.95 }
    stages: [{ stage: observe }]
  - name: backwards
    when: { minSeverity: critical }
    stages:
      - stage: isolate
      - stage: restrict
      - stage: revoke
        approval: required
        approvers: { required: 3 }
      - stage: rotate
        approval: required
        approvers: { groups: [ghost] }
`);

/** Every finding MANY_PROBLEMS must give, in file order. */
function manyProblemsExpected(text: string) {
  const after = (name: string, needle: string) => positionOf(text, needle, positionOf(text, `name: ${name}`).line);
  return [
    { ...positionOf(text, 'whne'), severity: 'error', check: 'schema' },
    { ...positionOf(text, 'severe'), severity: 'error', check: 'schema' },
    { ...after('zero', '0 }'), severity: 'error', check: 'never-matches' },
    { ...after('any-leak', 'revoke'), severity: 'error', check: 'auto-destructive' },
    { ...positionOf(text, 'name: sure-leak'), severity: 'error', check: 'shadowed-rule' },
    { ...after('backwards', 'restrict'), severity: 'error', check: 'stage-order' },
    { ...positionOf(text, '{ required: 3 }'), severity: 'error', check: 'unreachable-approval' },
    { ...positionOf(text, 'ghost'), severity: 'error', check: 'schema' },
  ];
}

describe('policy lint: every problem in one run', () => {
  it('reports problems of every layer at once, each at its node', () => {
    const findings = lintPolicyText(MANY_PROBLEMS);
    expect(brief(findings)).toEqual(manyProblemsExpected(MANY_PROBLEMS));
    expect(findings[0].message).toBe('rules.0: Unrecognized key: "whne"');
    expect(findings[1].message).toMatch(/^rules\.1\.when\.minSeverity: /);
    expect(findings[4].message).toContain(`rule "any-leak" (line ${positionOf(MANY_PROBLEMS, 'name: any-leak').line})`);
    expect(findings[7].message).toBe('rules.5.stages.3.approvers.groups.0: unknown approver group "ghost"');
  });

  it('leaves a rule that fails the schema out of the logic checks, and checks every other rule', () => {
    // Each broken rule would fail a logic check if it validated: a contradiction, an automatic
    // revoke, a catch-all that shadows what follows. Their valid twins still fail them.
    const broken = `  - name: broken-zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe, onDeny: maybe }]
  - name: broken-revoke
    when: { minConfidence: 0.5 }
    stages: [{ stage: revoke }]
    extra: true
  - name: broken-catch-all
    stages: []
`;
    const text = policyWith(`${broken}  - name: zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
  - name: revoke
    when: { minConfidence: 0.5 }
    stages: [{ stage: revoke }]
`);
    const findings = lintPolicyText(text);
    const valid = positionOf(text, 'name: zero').line;
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'maybe'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'extra'), severity: 'error', check: 'schema' },
      { ...positionOf(text, '[]', positionOf(text, 'broken-catch-all').line), severity: 'error', check: 'schema' },
      { ...positionOf(text, '0 }', valid), severity: 'error', check: 'never-matches' },
      { ...positionOf(text, 'revoke }', valid), severity: 'error', check: 'auto-destructive' },
    ]);
  });

  it('skips only the checks that need a broken approvalDefaults, approverGroups or guard', () => {
    const rules = `  - name: zero
    when: { confidenceBelow: 0 }
    stages: [{ stage: observe }]
  - name: reckless
    when: { minConfidence: 0.5 }
    stages:
      - stage: restrict
        window: 5m
      - stage: revoke
        approvers: { groups: [ghost], required: 5 }
`;
    const checks = (text: string) => lintPolicyText(text).map((f) => f.check);
    const logic = ['never-matches', 'ignored-window', 'auto-destructive'];
    // Whole: the unknown group is reported once, by the schema; a count without it proves nothing.
    expect(checks(policyWith(rules))).toEqual([...logic, 'schema']);
    // Broken approval defaults (unreachable too): only their own unreachable-approval check is off.
    const noDefaults = policyWith(rules).replace('  selfApproval: false\n', '').replace('required: 1', 'required: 5');
    expect(checks(noDefaults)).toEqual(['schema', ...logic, 'schema']);
    // A malformed group is still known by name: only ghost is unknown, and no count is made.
    const badGroups = policyWith(rules).replace('secops: [alice@example.com, bob@example.com]', 'secops: []');
    expect(checks(badGroups)).toEqual(['schema', ...logic, 'schema']);
    // A broken guard listing revoke might gate it: auto-destructive says nothing rather than something wrong.
    const badGuard = policyWith(
      rules,
      'guards:\n  - name: gate\n    when: { minSeverity: severe }\n    requireApproval: [revoke]\n',
    );
    expect(checks(badGuard)).toEqual([...logic.slice(0, 2), 'schema', 'schema']);
  });

  it('lets a broken guard silence auto-destructive only for the stages it lists', () => {
    const rules = `  - name: reckless
    when: { minConfidence: 0.5 }
    stages:
      - stage: revoke
      - stage: rotate
`;
    const guards = `guards:
  - name: gate-revoke
    when: { minSeverity: severe }
    requireApproval: [revoke]
  - name: gate-typo
    when: {}
    requireApproval: [rotat]
`;
    const text = policyWith(rules, guards);
    expect(brief(lintPolicyText(text))).toEqual([
      { ...positionOf(text, 'rotate'), severity: 'error', check: 'auto-destructive' },
      { ...positionOf(text, 'severe'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'rotat]'), severity: 'error', check: 'schema' },
    ]);
    // A requireApproval that is not a list of names could gate anything: nothing is said.
    const unreadable = policyWith(rules, guards.replace('[rotat]', 'rotate'));
    expect(brief(lintPolicyText(unreadable))).toEqual([
      { ...positionOf(unreadable, 'severe'), severity: 'error', check: 'schema' },
      {
        ...positionOf(unreadable, 'rotate', positionOf(unreadable, 'gate-typo').line),
        severity: 'error',
        check: 'schema',
      },
    ]);
  });

  it('keeps checking approver groups beside a malformed entry, counting people only where it can', () => {
    const text = policyWith(`  - name: gated
    when: { minConfidence: 0.5 }
    stages:
      - stage: restrict
        approvers: { groups: [secops], required: 3 }
      - stage: revoke
        approval: required
        approvers: { groups: [leads], required: 3 }
      - stage: rotate
        approval: required
        approvers: { groups: [ghost] }
`).replace('bob@example.com]\n', 'bob@example.com]\n  leads: carol@example.com\n');
    const findings = lintPolicyText(text);
    // leads is known (no "unknown group"), but its people cannot be counted: revoke's required: 3
    // is not judged, while restrict's, over the valid secops, is.
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'carol@example.com'), severity: 'error', check: 'schema' },
      { ...positionOf(text, '{ groups: [secops], required: 3 }'), severity: 'error', check: 'unreachable-approval' },
      { ...positionOf(text, 'ghost'), severity: 'error', check: 'schema' },
    ]);
    expect(findings[0].message).toMatch(/^approverGroups\.leads: /);
    expect(findings[2].message).toBe('rules.0.stages.2.approvers.groups.0: unknown approver group "ghost"');
  });

  it('reports every unknown key of an object, each at its key', () => {
    const text = policyWith(
      `  - name: typos
    whne: { minConfidence: 0.5 }
    stages: [{ stage: observe }]
    notes: hi
`,
      'colour: blue\n',
    );
    const findings = lintPolicyText(text);
    expect(brief(findings)).toEqual([
      { ...positionOf(text, 'whne'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'notes'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'colour'), severity: 'error', check: 'schema' },
    ]);
    expect(findings.map((f) => f.message)).toEqual([
      'rules.0: Unrecognized key: "whne"',
      'rules.0: Unrecognized key: "notes"',
      '(root): Unrecognized key: "colour"',
    ]);
  });

  it('reports each problem once: stage order, unknown groups and timeouts by one check each', () => {
    // The schema alone would also flag restrict and the second revoke (its order rule); a stage
    // listed twice is checked once; an unknown group makes no unreachable-approval.
    const text = policyWith(`  - name: twice
    when: { minConfidence: 0.5 }
    stages:
      - stage: revoke
      - stage: restrict
      - stage: revoke
      - stage: rotate
        approval: required
        approvers: { groups: [ghost], required: 3, onTimeout: proceed }
`);
    const findings = lintPolicyText(text);
    const after = (needle: string, from: string) => positionOf(text, needle, positionOf(text, from).line);
    expect(brief(findings)).toEqual([
      { ...after('revoke', 'name: twice'), severity: 'error', check: 'auto-destructive' },
      { ...after('restrict', 'name: twice'), severity: 'error', check: 'stage-order' },
      { ...after('revoke', 'stage: restrict'), severity: 'error', check: 'stage-order' },
      { ...positionOf(text, 'ghost'), severity: 'error', check: 'schema' },
      { ...positionOf(text, 'proceed'), severity: 'error', check: 'schema' },
    ]);
    expect(findings[2].message).toBe('stage revoke is listed twice; each stage runs at most once');
    expect(findings[3].message).toBe('rules.0.stages.3.approvers.groups.0: unknown approver group "ghost"');
    expect(findings[4].message).toBe(
      'rules.0.stages.3.approvers.onTimeout: an irreversible stage cannot proceed on timeout',
    );
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

  it('prints every problem of a policy with many in one run, and exits 1', async () => {
    const file = write('many.yaml', MANY_PROBLEMS);
    const result = await runTs('bin/cordon.js', ['policy', 'lint', file], {});
    expect(result.code).toBe(1);
    const findings = lintPolicyText(MANY_PROBLEMS);
    expect(brief(findings)).toEqual(manyProblemsExpected(MANY_PROBLEMS));
    expect(result.stdout).toBe(findings.map((f) => `${formatFinding(file, f)}\n`).join(''));
    expect(result.stderr).toContain(`${file}: 8 error(s), 0 warning(s)`);
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
