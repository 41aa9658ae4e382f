// Validates a policy document part by part (each rule, each guard, each top-level field), so a
// part that fails the schema is reported and left out while every other part is still checked.
import { z } from 'zod';
import type { PathFinding, PolicyParts } from './lintChecks';
import { Guard, PolicySchema, referenceIssues, Rule, STAGE_ORDER, type StageName } from './schema';

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
  const doc = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const { rules, guards } = doc;
  const parts: PolicyParts = {
    shadow: valid(shape.shadow, doc.shadow, ['shadow']),
    approverGroups: valid(shape.approverGroups, doc.approverGroups, ['approverGroups']),
    approvalDefaults: valid(shape.approvalDefaults, doc.approvalDefaults, ['approvalDefaults']),
    decisions: valid(shape.decisions, doc.decisions, ['decisions']),
    // Each rule and guard at its position in the file, so the checks' paths point at it.
    rules: Array.isArray(rules) ? rules.map((rule, r) => valid(Rule, rule, ['rules', r])) : [],
    guards: Array.isArray(guards)
      ? guards.map((guard, g) => valid(Guard, guard, ['guards', g]))
      : valid(shape.guards, guards, ['guards']),
  };
  const fields = Fields.safeParse(raw);
  const findings = [
    ...(fields.error?.issues ?? []).map((issue) =>
      schemaFinding(issue.path, issue.message, issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined),
    ),
    ...referenceIssues(parts).map((issue) => schemaFinding(issue.path, issue.message)),
    ...stageOrderFindings(raw),
  ];
  return { parts, findings: findings.filter((f) => usable(f.path)) };
}
