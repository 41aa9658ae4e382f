// Validates a policy document part by part (each rule, each guard, each top-level field), so a
// part that fails the schema is reported and left out while every other part is still checked.
import { z } from 'zod';
import type { PathFinding, PolicyParts } from './lintChecks';
import { ApproverGroup, Guard, PolicySchema, referenceIssues, Rule, STAGE_ORDER, type StageName } from './schema';

export type Path = readonly PropertyKey[];

/** A schema finding; an unknown key is reported at the key itself. */
export type SchemaFinding = PathFinding & { atKey?: boolean };

/** True when `path` is `part` or lies under it. */
const within = (path: Path, part: Path) => part.every((segment, i) => path[i] === segment);

const shape = PolicySchema.shape;
/** The policy's fields without its cross-field checks, which run on the valid parts instead. */
const Fields = z.strictObject(shape);

function schemaFinding(path: PropertyKey[], message: string, unknownKey?: string): SchemaFinding {
  const where = path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const field = where.length ? where.join('.') : '(root)';
  return {
    path: unknownKey === undefined ? where : [...where, unknownKey],
    atKey: unknownKey !== undefined,
    severity: 'error',
    check: 'schema',
    message: `${field}: ${message}`,
  };
}

/** A schema issue's findings: one per unknown key, each at its key, so none hides behind another. */
const issueFindings = (issue: z.ZodError['issues'][number]): SchemaFinding[] =>
  issue.code === 'unrecognized_keys'
    ? issue.keys.map((key) => schemaFinding(issue.path, `Unrecognized key: "${key}"`, key))
    : [schemaFinding(issue.path, issue.message)];

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Approver groups entry by entry, so one malformed entry does not hide the rest: every key with
 * a value is a known group (no false "unknown group" findings), but only a valid list has people
 * to count; a malformed entry maps to undefined (the schema reports it).
 */
function approverGroups(value: unknown): PolicyParts['approverGroups'] {
  if (!isMapping(value)) return undefined;
  const present = Object.entries(value).filter(([, people]) => people !== undefined && people !== null);
  return Object.fromEntries(present.map(([name, people]) => [name, ApproverGroup.safeParse(people).data]));
}

/** A guard's `requireApproval` as written, when it is a list of strings: what a broken guard may gate. */
function rawGates(guard: unknown): readonly string[] | undefined {
  const list = (guard as { requireApproval?: unknown } | null)?.requireApproval;
  return Array.isArray(list) && list.every((stage) => typeof stage === 'string') ? list : undefined;
}

const ORDER_TEXT = STAGE_ORDER.join(' → ');

/**
 * Stage order, checked on the raw document so it is reported even for a rule that fails the
 * schema otherwise (in place of the schema's own ordering issue, with clearer messages).
 */
function stageOrderFindings(raw: unknown): PathFinding[] {
  const rules = (raw as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const findings: PathFinding[] = [];
  rules.forEach((rule, r) => {
    const stages = (rule as { stages?: unknown } | null)?.stages;
    if (!Array.isArray(stages)) return;
    let last: StageName | undefined;
    const seen = new Set<string>();
    stages.forEach((entry, s) => {
      const name = (entry as { stage?: unknown } | null)?.stage;
      if (typeof name !== 'string' || !(STAGE_ORDER as readonly string[]).includes(name)) return;
      const path = ['rules', r, 'stages', s, 'stage'];
      if (seen.has(name)) {
        findings.push({
          path,
          severity: 'error',
          check: 'stage-order',
          message: `stage ${name} is listed twice; each stage runs at most once`,
        });
      } else if (last && STAGE_ORDER.indexOf(name as StageName) < STAGE_ORDER.indexOf(last)) {
        findings.push({
          path,
          severity: 'error',
          check: 'stage-order',
          message: `stage ${name} is listed after ${last}, but stages always run ${ORDER_TEXT}: list ${name} before ${last}`,
        });
      }
      seen.add(name);
      if (!last || STAGE_ORDER.indexOf(name as StageName) > STAGE_ORDER.indexOf(last)) last = name as StageName;
    });
  });
  return findings;
}

/**
 * Every schema problem of `raw` with its full path (stage order in stageOrderFindings' clearer
 * words), and the parts that passed. A part under a `spoiled` path (a YAML error is in it)
 * counts as failed, and its findings are dropped.
 */
export function policyParts(raw: unknown, spoiled: Path[]): { parts: PolicyParts; findings: SchemaFinding[] } {
  const usable = (path: Path) => !spoiled.some((part) => within(path, part));
  const valid = <S extends z.ZodType>(schema: S, value: unknown, path: Path): z.output<S> | undefined => {
    const result = usable(path) ? schema.safeParse(value) : undefined;
    return result?.success ? result.data : undefined;
  };
  const doc = isMapping(raw) ? raw : {};
  const { rules, guards } = doc;
  const parts: PolicyParts = {
    shadow: valid(shape.shadow, doc.shadow, ['shadow']),
    approverGroups: usable(['approverGroups']) ? approverGroups(doc.approverGroups) : undefined,
    approvalDefaults: valid(shape.approvalDefaults, doc.approvalDefaults, ['approvalDefaults']),
    decisions: valid(shape.decisions, doc.decisions, ['decisions']),
    // Each rule and guard at its position in the file, so the checks' paths point at it.
    rules: Array.isArray(rules) ? rules.map((rule, r) => valid(Rule, rule, ['rules', r])) : [],
    guards: Array.isArray(guards)
      ? guards.map((guard, g) => valid(Guard, guard, ['guards', g]))
      : valid(shape.guards, guards, ['guards']),
    // Not read from a guard a YAML error is in: what it lists is a guess.
    guardGates: Array.isArray(guards)
      ? guards.map((guard, g) => (usable(['guards', g]) ? rawGates(guard) : undefined))
      : [],
  };
  const fields = Fields.safeParse(raw);
  const findings = [
    ...(fields.error?.issues ?? []).flatMap(issueFindings),
    ...referenceIssues(parts).map((issue) => schemaFinding(issue.path, issue.message)),
    ...stageOrderFindings(raw),
  ];
  return { parts, findings: findings.filter((f) => usable(f.path)) };
}
