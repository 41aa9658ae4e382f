// The shipped playbook suite (playbooks/) as real cases on the time-skipping server, and
// `cordon test` as an engineer runs it: a policy change fails a test, a bad file runs nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testFilesUnder, unreached } from '../src/cli/testCommand';
import { loadTestFile, type LoadedFile } from '../src/playbooks/load';
import { PlaybookRunner, type TestResult } from '../src/playbooks/run';
import { ROOT, runTs } from './support/processes';

const defaults = {
  policyFile: path.join(ROOT, 'config', 'policy.yaml'),
  inventoryFile: path.join(ROOT, 'config', 'inventory.yaml'),
};
const suite: LoadedFile[] = testFilesUnder([path.join(ROOT, 'playbooks')]).map((f) => loadTestFile(f, defaults));

describe('the shipped playbook suite', () => {
  let runner: PlaybookRunner;
  beforeAll(async () => {
    runner = await PlaybookRunner.start(inject('workflowBundlePath'));
  }, 120_000);
  afterAll(() => runner?.stop());

  const results: TestResult[] = [];
  afterAll(() => {
    // Checked when every test ran (not for a subset picked with -t): a rule or guard no test
    // reaches is a gap in the suite.
    if (results.length === suite.reduce((n, f) => n + f.tests.length, 0)) expect(unreached(suite, results)).toEqual([]);
  });

  it('plays all eight seed scenarios', () => {
    expect(suite.find((f) => f.file.endsWith('seed-scenarios.test.yaml'))?.tests).toHaveLength(8);
  });

  for (const file of suite)
    for (const test of file.tests)
      it(`${path.relative(ROOT, file.file)}: ${test.name}`, async () => {
        const result = await runner.run(file, test);
        results.push(result);
        expect(result.failure).toBeUndefined();
        expect(result.passed).toBe(true);
      }, 180_000);
});

// A scratch copy of one shipped test file and the default policy, which a test may change.
function scratchCopy(edit: (policy: string) => string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-playbook-'));
  const policy = path.join(dir, 'policy.yaml');
  writeFileSync(policy, edit(readFileSync(defaults.policyFile, 'utf8')));
  const test = readFileSync(path.join(ROOT, 'playbooks', 'default-policy.test.yaml'), 'utf8');
  const [first] = test.split(/\n(?= {2}- name: )/g).slice(1, 2);
  writeFileSync(path.join(dir, 'ci.test.yaml'), `policy: policy.yaml\ntests:\n${first}\n`);
  return path.join(dir, 'ci.test.yaml');
}

const cordonTest = (args: string[]) =>
  runTs('src/cli/main.ts', ['test', ...args, '--bundle', inject('workflowBundlePath')], {});

describe('cordon test', () => {
  it('exits 1 and names the first mismatch when the policy changes under a test', async () => {
    const file = scratchCopy((policy) =>
      policy.replace(
        /(name: ephemeral-token-leak-auto-revoke[\s\S]*?- stage: revoke)/,
        '$1\n        approval: required',
      ),
    );
    const run = await cordonTest([file, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const {
      results: [result],
    } = JSON.parse(run.stdout) as { results: TestResult[] };
    expect(result).toMatchObject({
      passed: false,
      test: 'a leaked CI token is revoked and rotated without approval',
      failure: { step: 'expect', mismatch: { field: 'outcome', expected: 'contained', actual: 'active' } },
    });
    expect(run.stderr).toContain('0 passed, 1 failed');
  }, 120_000);

  it('prints one line per test, and exits 0 when all pass', async () => {
    const run = await cordonTest([scratchCopy((policy) => policy)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^PASS \S+ci\.test\.yaml:3 a leaked CI token is revoked and rotated without approval \(\d+\.\d s\)\n$/,
    );
  }, 120_000);

  it('exits 2 on a bad file, naming its line and field, and runs nothing', async () => {
    const file = scratchCopy((policy) => policy);
    writeFileSync(file, readFileSync(file, 'utf8').replace('approvals: []', 'approvals: []\n      outcme: contained'));
    const run = await cordonTest([file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ci\.test\.yaml:\d+: tests\.0\.expect: Unrecognized key: "outcme"/);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('refuses steps on cases no alert opened, and shadow cases it cannot follow, naming every one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-playbook-'));
    const file = path.join(dir, 'refs.test.yaml');
    const lines = [
      'tests:',
      '  - name: refs',
      '    steps:',
      '      - after: 1h',
      '      - approve: revoke',
      '        by: bob@example.com',
      '      - fault: isolate',
      '        case: simulated:svc-payments',
      `      - alert: ${path.join(ROOT, 'examples', 'alerts', 'secret-leak.json')}`,
      '      - deny: revoke',
      '        by: bob@example.com',
      '        case: simulated:nobody',
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(() => loadTestFile(file, defaults)).toThrow(
      `${file}:5: no case yet: send an alert before this step, or name one with case: provider:id\n` +
        `${file}:10: no alert before this step opened case simulated:nobody`,
    );
    const shadowPolicy = path.join(dir, 'shadow.yaml');
    writeFileSync(shadowPolicy, `shadow: true\n${readFileSync(defaults.policyFile, 'utf8')}`);
    expect(() => loadTestFile(file, { ...defaults, policyFile: shadowPolicy })).toThrow('has shadow: true');
  });

  it('fails a step that cannot do what it says: an approval with nothing pending', async () => {
    const file = scratchCopy((policy) => policy);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        '    expect:\n',
        '      - approve: revoke\n        by: mallory@example.com\n    expect:\n',
      ),
    );
    const run = await cordonTest([file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('at approve');
    expect(run.stdout).toContain('expected a pending approval for revoke, found none');
  }, 120_000);
});
