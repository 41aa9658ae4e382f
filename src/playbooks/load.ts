// Reads playbook test files before anything runs: a file that does not parse, validate, or name
// readable alerts, policy and inventory is refused whole, with the line of each problem.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDocument, LineCounter, parseDocument, type Document } from 'yaml';
import type { Alert } from '../alerts/schema';
import { normalizedAlert, validAlert } from '../cli/commands';
import { UsageError } from '../cli/errors';
import { canonicalJson } from '../digest';
import { loadInventory, loadPolicy } from '../policy/load';
import { PlaybookTestFile, type Expectation, type Step } from './schema';

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

// The line of the node at `path`, or of its deepest ancestor in the document.
function lineOf(doc: Document, counter: LineCounter, at: Path): number {
  for (let depth = at.length; depth >= 0; depth -= 1) {
    const node = depth === 0 ? doc.contents : doc.getIn(at.slice(0, depth), true);
    const start = (node as { range?: [number] } | undefined)?.range?.[0];
    if (start !== undefined) return counter.linePos(start).line;
  }
  return 1;
}

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
function loadAlert(step: Extract<Step, { alert: unknown }>, dir: string, where: string): Alert {
  try {
    if (typeof step.alert === 'string') return validAlert(path.resolve(dir, step.alert), step.format);
    return normalizedAlert(step.alert, Buffer.from(canonicalJson(step.alert)), 'the inline alert', step.format);
  } catch (err) {
    throw new BadTestFile(`${where}: ${(err as Error).message}`);
  }
}

// Steps that act on no particular case; every other one needs an alert before it or a `case:`.
const CASELESS = ['alert', 'after', 'kill-switch'];

/** The index of the first step that names no case while no alert has opened one yet. */
function firstWithoutCase(steps: (Step | { expect: Expectation })[]): number | undefined {
  const first = steps.findIndex((step) => 'alert' in step);
  const orphan = steps.findIndex(
    (step, i) => (first < 0 || i < first) && !CASELESS.some((k) => k in step) && !caseNamed(step),
  );
  return orphan < 0 ? undefined : orphan;
}

const caseNamed = (step: Step | { expect: Expectation }) =>
  'expect' in step ? step.expect.case !== undefined : 'case' in step && step.case !== undefined;

/** Reads and checks one test file; `defaults` are the project's policy and inventory. */
export function loadTestFile(file: string, defaults: { policyFile: string; inventoryFile: string }): LoadedFile {
  const { doc, counter } = parseFile(file);
  const at = (p: Path) => `${file}:${lineOf(doc, counter, p)}`;
  const parsed = PlaybookTestFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const p = i.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
      return `${at(p)}: ${p.join('.') || '(root)'}: ${i.message}`;
    });
    throw new BadTestFile(problems.join('\n'));
  }
  const dir = path.dirname(file);
  const policyFile = parsed.data.policy ? path.resolve(dir, parsed.data.policy) : defaults.policyFile;
  const inventoryFile = parsed.data.inventory ? path.resolve(dir, parsed.data.inventory) : defaults.inventoryFile;
  try {
    loadPolicy(policyFile);
    loadInventory(inventoryFile);
  } catch (err) {
    throw new BadTestFile(`${file}: ${(err as Error).message}`);
  }
  parsed.data.tests.forEach((test, t) => {
    const orphan = firstWithoutCase([...test.steps, ...(test.expect ? [{ expect: test.expect }] : [])]);
    if (orphan !== undefined) {
      const where = orphan < test.steps.length ? ['tests', t, 'steps', orphan] : ['tests', t, 'expect'];
      throw new BadTestFile(
        `${at(where)}: no case yet: send an alert before this step, or name one with case: provider:id`,
      );
    }
  });
  const tests = parsed.data.tests.map((test, t) => ({
    name: test.name,
    line: lineOf(doc, counter, ['tests', t]),
    steps: test.steps.map((step, s): LoadedStep => {
      const where = ['tests', t, 'steps', s];
      const line = lineOf(doc, counter, where);
      return 'alert' in step ? { alert: loadAlert(step, dir, at(where)), line } : { ...step, line };
    }),
    ...(test.expect && { expect: { ...test.expect, line: lineOf(doc, counter, ['tests', t, 'expect']) } }),
  }));
  return { file, policyFile, inventoryFile, tests };
}
