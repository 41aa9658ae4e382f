// `cordon test [PATH…]`: runs playbook test files (playbooks/ by default) as real cases on the
// time-skipping test server. Exit 0 when every test passes, 1 on a failure, 2 on a bad file.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { BadTestFile, loadTestFile, type LoadedFile } from '../playbooks/load';
import { loadPolicy } from '../policy/load';
import { PlaybookRunner, type TestResult } from '../playbooks/run';
import { ExitCode, UsageError } from './errors';
import { printJson } from './io';

const TEST_FILE = /\.test\.ya?ml$/;

/** The test files under each path (a file as given; a folder's `*.test.yaml`, recursively), in name order. */
export function testFilesUnder(paths: string[]): string[] {
  const found = (p: string): string[] => {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw new UsageError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!isDir) return [p];
    return readdirSync(p)
      .sort()
      .flatMap((name) => {
        const child = path.join(p, name);
        return statSync(child).isDirectory() ? found(child) : TEST_FILE.test(name) ? [child] : [];
      });
  };
  const files = paths.flatMap(found);
  if (files.length === 0) throw new UsageError(`no *.test.yaml files in ${paths.join(', ')}`);
  return files;
}

const show = (value: unknown) => JSON.stringify(value);

/** One line per test: PASS, or FAIL with the step, what was expected and what happened. */
export function resultLine(r: TestResult): string {
  const where = `${r.file}:${r.line} ${r.test} (${r.seconds.toFixed(1)} s)`;
  if (r.passed) return `PASS ${where}`;
  const f = r.failure!;
  const what =
    'mismatch' in f
      ? `${f.mismatch.field}: expected ${show(f.mismatch.expected)}, got ${show(f.mismatch.actual)} (the case: ${f.mismatch.standing})`
      : f.error;
  return `FAIL ${where}\n     at ${f.step} (${r.file}:${f.line}): ${what}`;
}

/** Per policy the run used: its rules and guards that no test reached, so a suite's gaps show. */
export function unreached(files: LoadedFile[], results: TestResult[]) {
  return [...new Set(files.map((f) => f.policyFile))].flatMap((policyFile) => {
    const policy = loadPolicy(policyFile);
    const ran = results.filter((r) => files.find((f) => f.file === r.file)?.policyFile === policyFile);
    const rules = policy.rules.map((r) => r.name).filter((n) => !ran.some((r) => r.reached.rules.includes(n)));
    const guards = policy.guards.map((g) => g.name).filter((n) => !ran.some((r) => r.reached.guards.includes(n)));
    return rules.length || guards.length ? [{ policy: path.relative(process.cwd(), policyFile), rules, guards }] : [];
  });
}

// Every file's problems at once: a run with a bad file runs nothing, and names them all.
function loadAll(paths: string[], defaults: { policyFile: string; inventoryFile: string }): LoadedFile[] {
  const problems: string[] = [];
  const files = paths.flatMap((f) => {
    try {
      return [loadTestFile(f, defaults)];
    } catch (err) {
      if (!(err instanceof BadTestFile)) throw err;
      problems.push(err.message);
      return [];
    }
  });
  if (problems.length) throw new BadTestFile(problems.join('\n'));
  return files;
}

/** Loads every file first (a bad one stops the run before anything starts), then runs the tests in order. */
export async function runTests(paths: string[], opts: { json?: boolean; bundle?: string }): Promise<number> {
  const config = loadConfig();
  const defaults = { policyFile: config.CORDON_POLICY_FILE, inventoryFile: config.CORDON_INVENTORY_FILE };
  const files = loadAll(testFilesUnder(paths.length ? paths : ['playbooks']), defaults);
  const started = Date.now();
  const runner = await PlaybookRunner.start(opts.bundle ?? config.CORDON_WORKFLOW_BUNDLE);
  const results: TestResult[] = [];
  try {
    for (const file of files)
      for (const test of file.tests) {
        const result = await runner.run(file, test);
        results.push(result);
        if (!opts.json) process.stdout.write(`${resultLine(result)}\n`);
      }
  } finally {
    await runner.stop();
  }
  const failed = results.filter((r) => !r.passed).length;
  const gaps = unreached(files, results);
  if (opts.json) printJson({ results, unreached: gaps });
  for (const gap of gaps)
    console.error(
      `${gap.policy}: no test reached ${[...gap.rules.map((r) => `rule ${r}`), ...gap.guards.map((g) => `guard ${g}`)].join(', ')}`,
    );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.error(`${results.length - failed} passed, ${failed} failed (${seconds} s)`);
  return failed ? ExitCode.failure : ExitCode.ok;
}
