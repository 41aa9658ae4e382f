// Reads playbook test files before anything runs: a file that does not parse, validate, or name
// readable alerts, policy and inventory is refused whole, with the line of each problem.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDocument, LineCounter, parseDocument, type Document } from 'yaml';
import type { Alert } from '../alerts/schema';
import { alertFromBytes, validAlert } from '../cli/alertFile';
import { UsageError } from '../cli/errors';
import { canonicalJson } from '../digest';
import { offsetOf } from '../policy/lint';
import { loadInventory, loadPolicy } from '../policy/load';
import { PlaybookTestFile, type Expectation, type PlaybookTest, type Step } from './schema';

/** A step ready to run: alerts normalized, each with its place in the file. */
export type LoadedStep = (Exclude<Step, { alert: unknown }> | { alert: Alert }) & { line: number };

export interface LoadedTest {
  name: string;
  line: number;
  steps: LoadedStep[];
  expect?: Expectation & { line: number };
}

export interface LoadedFile {
  file: string;
  policyFile: string;
  inventoryFile: string;
  tests: LoadedTest[];
}

/** A playbook test file that cannot run; the message names the file, line and field. */
export class BadTestFile extends UsageError {}

type Path = readonly (string | number)[];

function parseFile(file: string): { doc: Document; counter: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadTestFile(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const [error] = doc.errors;
  if (error || !isDocument(doc)) {
    const line = error ? counter.linePos(error.pos[0]).line : 1;
    throw new BadTestFile(`${file}:${line}: not valid YAML: ${error?.message ?? 'empty document'}`);
  }
  return { doc, counter };
}

// An alert step: a file (relative to the test file) or the alert itself, in any supported format.
function loadAlert(step: Extract<Step, { alert: unknown }>, dir: string): Alert {
  if (typeof step.alert === 'string') return validAlert(path.resolve(dir, step.alert), step.format);
  return alertFromBytes(Buffer.from(canonicalJson(step.alert)), 'the inline alert', step.format);
}

// Steps about no particular case, and steps that may name a case before its alert arrives.
const CASELESS = ['alert', 'after', 'kill-switch'];
const BEFORE_ALERT = ['fault', 'clear-fault'];

// Why a step cannot run where it stands: it needs a case no alert has opened (yet).
function caseProblem(step: Step | { expect: Expectation }, opened: Set<string>): string | undefined {
  if (CASELESS.some((k) => k in step)) return undefined;
  const ref = 'expect' in step ? step.expect.case : 'case' in step ? step.case : undefined;
  if (ref === undefined)
    return opened.size ? undefined : 'no case yet: send an alert before this step, or name one with case: provider:id';
  if (opened.has(ref) || BEFORE_ALERT.some((k) => k in step)) return undefined;
  return `no alert before this step opened case ${ref}`;
}

/** A test's steps made ready to run, or the problems that stop it, each with its line. */
function loadTest(test: PlaybookTest, t: number, dir: string, at: (p: Path) => { line: number; text: string }) {
  const problems: string[] = [];
  const opened = new Set<string>();
  const steps = test.steps.map((step, s): LoadedStep => {
    const where = at(['tests', t, 'steps', s]);
    const problem = (message: string) => problems.push(`${where.text}: ${message}`);
    if (!('alert' in step)) {
      const unfit = caseProblem(step, opened);
      if (unfit) problem(unfit);
      return { ...step, line: where.line };
    }
    try {
      const alert = loadAlert(step, dir);
      if (alert.shadow) problem('shadow alerts are not supported: their cases run under another workflow id');
      opened.add(`${alert.identity.provider}:${alert.identity.id}`);
      return { alert, line: where.line };
    } catch (err) {
      problem((err as Error).message);
      return { ...step, line: where.line } as LoadedStep;
    }
  });
  const unfit = test.expect && caseProblem({ expect: test.expect }, opened);
  if (unfit) problems.push(`${at(['tests', t, 'expect']).text}: ${unfit}`);
  const loaded: LoadedTest = {
    name: test.name,
    line: at(['tests', t]).line,
    steps,
    ...(test.expect && { expect: { ...test.expect, line: at(['tests', t, 'expect']).line } }),
  };
  return { loaded, problems };
}

// The policy and inventory the file names (else the project's), which must load, and may not
// send every case to a shadow (dry-run) workflow the test does not follow.
function configOf(file: string, data: PlaybookTestFile, defaults: { policyFile: string; inventoryFile: string }) {
  const dir = path.dirname(file);
  const policyFile = data.policy ? path.resolve(dir, data.policy) : defaults.policyFile;
  const inventoryFile = data.inventory ? path.resolve(dir, data.inventory) : defaults.inventoryFile;
  try {
    loadInventory(inventoryFile);
    if (loadPolicy(policyFile).shadow)
      throw new Error(
        `${policyFile} has shadow: true: its cases run as shadow cases, which cordon test does not follow`,
      );
  } catch (err) {
    throw new BadTestFile(`${file}: ${(err as Error).message}`);
  }
  return { policyFile, inventoryFile };
}

/** Reads and checks one test file; `defaults` are the project's policy and inventory. */
export function loadTestFile(file: string, defaults: { policyFile: string; inventoryFile: string }): LoadedFile {
  const { doc, counter } = parseFile(file);
  const at = (p: Path) => {
    const line = counter.linePos(offsetOf(doc, p)).line;
    return { line, text: `${file}:${line}` };
  };
  const parsed = PlaybookTestFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const p = i.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
      return `${at(p).text}: ${p.join('.') || '(root)'}: ${i.message}`;
    });
    throw new BadTestFile(problems.join('\n'));
  }
  const config = configOf(file, parsed.data, defaults);
  const dir = path.dirname(file);
  const tests = parsed.data.tests.map((test, t) => loadTest(test, t, dir, at));
  const problems = tests.flatMap((t) => t.problems);
  if (problems.length) throw new BadTestFile(problems.join('\n'));
  return { file, ...config, tests: tests.map((t) => t.loaded) };
}
