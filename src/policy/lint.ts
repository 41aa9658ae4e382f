// `cordon policy lint`: YAML errors, schema errors and policy mistakes, each with the line and
// column of the YAML node it is about, so an editor or CI log can jump straight to it. One run
// reports them all: a part that fails (a rule, a guard, a top-level field) is left out of the
// checks that read it, and every other part is still checked.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLMap } from 'yaml';
import { policyFindings, type FindingSeverity } from './lintChecks';
import { policyParts, type Path, type SchemaFinding } from './lintParts';

/** One lint finding, positioned (1-based line and column). */
export interface LintFinding {
  line: number;
  col: number;
  severity: FindingSeverity;
  check: string;
  message: string;
}

/** Offset of the node at `path`, or of its deepest existing ancestor; `atKey` points at the last map key. */
export function offsetOf(doc: Document, path: Path, atKey = false): number {
  let node: unknown = doc.contents;
  let offset = (node as { range?: [number] } | null)?.range?.[0] ?? 0;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyName(p.key) === String(segment));
      const keyStart = (pair?.key as { range?: [number] } | undefined)?.range?.[0];
      if (!pair || keyStart === undefined) break;
      const valueStart = (pair.value as { range?: [number] } | null)?.range?.[0];
      offset = atKey && i === path.length - 1 ? keyStart : (valueStart ?? keyStart);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
      node = node.items[segment];
      offset = (node as { range?: [number] }).range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

const keyName = (key: unknown) => String(isScalar(key) ? key.value : key);

type Span = [start: number, end: number] | undefined;
const spanOf = (node: unknown): Span => {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range && [range[0], range[2]];
};

/** The index of the span holding `offset`; one that ends right at it counts when none holds it. */
function spanAt(spans: Span[], offset: number): number {
  const inside = spans.findIndex((s) => s !== undefined && s[0] <= offset && offset < s[1]);
  return inside >= 0 ? inside : spans.findIndex((s) => s !== undefined && s[1] === offset);
}

/** The part an offset is in: a rule or guard, else a top-level entry; undefined when in none. */
function partAt(root: YAMLMap, offset: number): Path | undefined {
  const spans = root.items.map(({ key, value }): Span => {
    const [start, end] = [spanOf(key)?.[0], spanOf(value ?? key)?.[1]];
    return start === undefined || end === undefined ? undefined : [start, end];
  });
  const entry = root.items[spanAt(spans, offset)];
  if (!entry) return undefined;
  const name = keyName(entry.key);
  const items = (name === 'rules' || name === 'guards') && isSeq(entry.value) ? entry.value.items : [];
  const i = spanAt(items.map(spanOf), offset);
  return i >= 0 ? [name, i] : [name];
}

/**
 * The parts YAML errors spoil: the part each is in, and the top-level keys the text has (at column
 * 0) but the document lost, say to an unclosed quote, so they are not also reported missing.
 * Undefined when an error is in no part: the document as a whole is broken.
 */
function spoiledParts(text: string, doc: Document): Path[] | undefined {
  if (doc.errors.length === 0) return [];
  const root = doc.contents;
  if (!isMap(root)) return undefined;
  const parts = doc.errors.map((err) => partAt(root, err.pos[0]));
  if (!parts.every((part) => part !== undefined)) return undefined;
  const kept = new Set(root.items.map((p) => keyName(p.key)));
  const lost = [...text.matchAll(/^([\w-]+)[ \t]*:/gm)].filter((m) => !kept.has(m[1])).map((m) => [m[1]]);
  return [...parts, ...lost];
}

/** The document as plain data, or the reason it has none (such as an alias to a missing anchor). */
function plainData(doc: Document): { raw: unknown } | { error: string } {
  try {
    return { raw: doc.toJS() as unknown };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Lints policy YAML text: YAML syntax, the schema and the policy's logic, every problem once. A
 * YAML error spoils the part it is in; the other parts are still checked if the document holds.
 */
export function lintPolicyText(text: string): LintFinding[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => lineCounter.linePos(offset);
  const yamlError = (offset: number, message: string): LintFinding => ({
    ...at(offset),
    severity: 'error',
    check: 'yaml',
    message,
  });
  const findings = doc.errors.map((err) => yamlError(err.pos[0], err.message));
  const spoiled = spoiledParts(text, doc);
  const data = plainData(doc);
  if ('error' in data) findings.push(yamlError(0, data.error));
  else if (spoiled) {
    const place = ({ path, atKey, ...rest }: SchemaFinding): LintFinding => ({
      ...at(offsetOf(doc, path, atKey)),
      ...rest,
    });
    const lineOf = (path: Path) => at(offsetOf(doc, path)).line;
    const { parts, findings: schema } = policyParts(data.raw, spoiled);
    findings.push(...[...schema, ...policyFindings(parts, lineOf)].map(place));
  }
  return findings.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** `FILE:LINE:COL severity: message [check]`, the format compilers and editors understand. */
export const formatFinding = (file: string, f: LintFinding) =>
  `${file}:${f.line}:${f.col} ${f.severity}: ${f.message} [${f.check}]`;
