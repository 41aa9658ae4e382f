// `cordon policy lint`: schema errors and policy mistakes, each with the line and column of the
// YAML node it is about, so an editor or CI log can jump straight to it.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { policyFindings, stageOrderFindings, type FindingSeverity, type PathFinding } from './lintChecks';
import { PolicySchema } from './schema';

/** One lint finding, positioned (1-based line and column). */
export interface LintFinding {
  line: number;
  col: number;
  severity: FindingSeverity;
  check: string;
  message: string;
}

type Path = readonly PropertyKey[];

/** Offset of the node at `path`, or of its deepest existing ancestor; `atKey` points at the last map key. */
function offsetOf(doc: Document, path: Path, atKey = false): number {
  let node: unknown = doc.contents;
  let offset = (node as { range?: [number] } | null)?.range?.[0] ?? 0;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
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

const ORDER_ISSUE = (issue: z.core.$ZodIssue) =>
  issue.code === 'custom' &&
  issue.path.length === 5 &&
  issue.path[0] === 'rules' &&
  issue.path[2] === 'stages' &&
  issue.path[4] === 'stage';

/** The schema's issues as findings; an unknown key is reported at the key itself. */
function schemaFindings(issues: z.core.$ZodIssue[]): (PathFinding & { atKey?: boolean })[] {
  return issues
    .filter((issue) => !ORDER_ISSUE(issue)) // stageOrderFindings says the same, more precisely
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const field = path.length ? path.join('.') : '(root)';
      return {
        path: unknownKey === undefined ? path : [...path, unknownKey],
        atKey: unknownKey !== undefined,
        severity: 'error' as const,
        check: 'schema',
        message: `${field}: ${issue.message}`,
      };
    });
}

/** Lints policy YAML text: YAML syntax, the schema, then (once it validates) the policy's logic. */
export function lintPolicyText(text: string): LintFinding[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    return doc.errors.map((err) => ({ ...at(err.pos[0]), severity: 'error', check: 'yaml', message: err.message }));
  }
  const raw = doc.toJS() as unknown;
  const place = (f: PathFinding & { atKey?: boolean }): LintFinding => {
    const { path, atKey, ...rest } = f;
    return { ...at(offsetOf(doc, path, atKey)), ...rest };
  };
  const lineOf = (path: Path) => at(offsetOf(doc, path)).line;
  const parsed = PolicySchema.safeParse(raw);
  const findings = [
    ...stageOrderFindings(raw),
    ...(parsed.success ? policyFindings(parsed.data, lineOf) : schemaFindings(parsed.error.issues)),
  ].map(place);
  return findings.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** `FILE:LINE:COL severity: message [check]`, the format compilers and editors understand. */
export const formatFinding = (file: string, f: LintFinding) =>
  `${file}:${f.line}:${f.col} ${f.severity}: ${f.message} [${f.check}]`;
