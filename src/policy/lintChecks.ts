// The checks behind `cordon policy lint` that need no YAML positions: each finding names the
// path of the policy node it is about, and lint.ts turns that path into FILE:LINE:COL.
import { Severity as SeverityName } from '../alerts/schema';
import {
  IRREVERSIBLE_STAGES,
  STAGE_ORDER,
  type ApprovalSettings,
  type Match,
  type Policy,
  type StageName,
} from './schema';

export type FindingSeverity = 'error' | 'warning';

/** A finding before it has a position: `path` is the zod-style path of the node it is about. */
export interface PathFinding {
  path: (string | number)[];
  severity: FindingSeverity;
  /** Short stable id of the check, printed after the message. */
  check: string;
  message: string;
}

/** Gives the line of a path, so a message can point at the other rule it talks about. */
export type LineOf = (path: (string | number)[]) => number;

/**
 * The one case where an automatic (unapproved) revoke or rotate is accepted: the rule's `when`
 * limits it to identities of these classes (a class condition also means "in the inventory")...
 */
export const AUTO_DESTRUCTIVE_CLASSES: readonly string[] = ['ephemeral'];
/** ... and to alerts at least this confident. */
export const AUTO_DESTRUCTIVE_MIN_CONFIDENCE = 0.9;

const ORDER_TEXT = STAGE_ORDER.join(' → ');
const rank = (s: Match['minSeverity']) => SeverityName.options.indexOf(s ?? 'low');

/** `when` fields only an inventory identity can satisfy (see `matches` in plan.ts). */
const IDENTITY_FIELDS = ['classes', 'shared', 'environments', 'criticality', 'owners', 'minConsumers'] as const;

const hasConditions = (when: Match) => Object.values(when).some((v) => v !== undefined);

/** Why `when` can never hold (and the field to blame), or undefined when something can match it. */
export function contradiction(when: Match): { field: string; reason: string } | undefined {
  if (when.confidenceBelow === 0)
    return { field: 'confidenceBelow', reason: 'confidenceBelow: 0 holds for no alert (confidence is never below 0)' };
  if (
    when.confidenceBelow !== undefined &&
    when.minConfidence !== undefined &&
    when.minConfidence >= when.confidenceBelow
  ) {
    return {
      field: 'confidenceBelow',
      reason: `minConfidence ${when.minConfidence} and confidenceBelow ${when.confidenceBelow} leave no confidence that satisfies both`,
    };
  }
  if (when.known === false) {
    const field = IDENTITY_FIELDS.find((f) => when[f] !== undefined);
    if (field)
      return { field, reason: `${field} only holds for identities in the inventory, but known: false excludes them` };
  }
  return undefined;
}

/**
 * True when everything that satisfies `narrow` also satisfies `broad`. Conservative: a false
 * answer means "not proven", so shadowing is only reported when it is certain.
 */
export function implies(narrow: Match, broad: Match): boolean {
  const subset = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
    b === undefined || (a !== undefined && a.every((x) => b.includes(x)));
  const narrowKnown = narrow.known ?? (IDENTITY_FIELDS.some((f) => narrow[f] !== undefined) ? true : undefined);
  return (
    subset(narrow.kinds, broad.kinds) &&
    (broad.minSeverity === undefined || rank(narrow.minSeverity) >= rank(broad.minSeverity)) &&
    (broad.minConfidence === undefined || (narrow.minConfidence ?? 0) >= broad.minConfidence) &&
    (broad.confidenceBelow === undefined ||
      (narrow.confidenceBelow !== undefined && narrow.confidenceBelow <= broad.confidenceBelow)) &&
    (broad.known === undefined || narrowKnown === broad.known) &&
    subset(narrow.classes, broad.classes) &&
    (broad.shared === undefined || narrow.shared === broad.shared) &&
    subset(narrow.environments, broad.environments) &&
    subset(narrow.criticality, broad.criticality) &&
    subset(narrow.owners, broad.owners) &&
    (broad.minConsumers === undefined || (narrow.minConsumers ?? 0) >= broad.minConsumers)
  );
}

/**
 * Stage order, checked on the raw document so it is reported even when other schema errors stop
 * validation (the schema's own ordering issue is replaced by these clearer messages).
 */
export function stageOrderFindings(raw: unknown): PathFinding[] {
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

// The plan's safety floor (plan.ts) gates irreversible stages for these whatever the rule says.
const floorAlwaysApplies = (when: Match) =>
  when.known === false ||
  when.shared === true ||
  (when.classes !== undefined && when.classes.every((c) => c === 'break-glass'));

/** Why an automatic irreversible stage in a rule with this `when` is not an allowed case. */
function destructiveGap(when: Match): string | undefined {
  const classes = when.classes;
  const ephemeralOnly = classes !== undefined && classes.every((c) => AUTO_DESTRUCTIVE_CLASSES.includes(c));
  const confident = (when.minConfidence ?? 0) >= AUTO_DESTRUCTIVE_MIN_CONFIDENCE;
  const missing = [
    ephemeralOnly ? '' : `classes limited to [${AUTO_DESTRUCTIVE_CLASSES.join(', ')}]`,
    confident ? '' : `minConfidence ≥ ${AUTO_DESTRUCTIVE_MIN_CONFIDENCE}`,
  ].filter(Boolean);
  return missing.length ? missing.join(' and ') : undefined;
}

/** Distinct people who can ever approve under these settings (escalation groups join later). */
function approverCount(policy: Policy, settings: ApprovalSettings): number {
  return new Set([...settings.groups, ...settings.escalation].flatMap((g) => policy.approverGroups[g] ?? [])).size;
}

/** Every check that needs a validated policy: dead rules and guards, unsafe automation, unreachable approvals. */
export function policyFindings(policy: Policy, lineOf: LineOf): PathFinding[] {
  const findings: PathFinding[] = [];
  const dead = new Set<number>();
  if (policy.shadow) {
    findings.push({
      path: ['shadow'],
      severity: 'warning',
      check: 'shadow-switch',
      message: 'shadow: true makes every case a dry run: no alert gets real containment',
    });
  }

  policy.rules.forEach((rule, r) => {
    const never = contradiction(rule.when);
    if (never) {
      dead.add(r);
      findings.push({
        path: ['rules', r, 'when', never.field],
        severity: 'error',
        check: 'never-matches',
        message: `rule "${rule.name}" can never match: ${never.reason}`,
      });
      return;
    }
    const earlier = policy.rules.findIndex((other, o) => o < r && !dead.has(o) && implies(rule.when, other.when));
    if (earlier >= 0) {
      const other = policy.rules[earlier];
      const why = hasConditions(other.when)
        ? `every alert it matches is taken first by rule "${other.name}" (line ${lineOf(['rules', earlier])}), whose conditions are broader`
        : `rule "${other.name}" (line ${lineOf(['rules', earlier])}) has no conditions, comes first and takes every alert`;
      findings.push({
        path: ['rules', r],
        severity: 'error',
        check: 'shadowed-rule',
        message: `rule "${rule.name}" can never match: ${why}; the first matching rule wins`,
      });
    }
  });

  policy.guards.forEach((guard, g) => {
    const never = contradiction(guard.when);
    if (never)
      findings.push({
        path: ['guards', g, 'when', never.field],
        severity: 'error',
        check: 'never-matches',
        message: `guard "${guard.name}" can never apply: ${never.reason}`,
      });
  });

  policy.rules.forEach((rule, r) => {
    if (dead.has(r)) return;
    rule.stages.forEach((stage, s) => {
      const path = ['rules', r, 'stages', s];
      if (stage.window !== undefined && stage.stage !== 'verify-window') {
        findings.push({
          path: [...path, 'window'],
          severity: 'warning',
          check: 'ignored-window',
          message: `window is only used by verify-window; on ${stage.stage} it is ignored`,
        });
      }
      // Stage overrides only: the defaults are checked once below.
      const settings = { ...policy.approvalDefaults, ...stage.approvers };
      const people = approverCount(policy, settings);
      if (stage.approvers && settings.required > people) {
        findings.push({
          path: [...path, 'approvers'],
          severity: 'error',
          check: 'unreachable-approval',
          message: `${stage.stage} needs ${settings.required} distinct approvals but its groups and escalation hold ${people} people: it can only ever time out`,
        });
      }
      if (!IRREVERSIBLE_STAGES.includes(stage.stage) || stage.approval === 'required' || floorAlwaysApplies(rule.when))
        return;
      const guard = policy.guards.find(
        (gd) => gd.requireApproval.includes(stage.stage) && !contradiction(gd.when) && implies(rule.when, gd.when),
      );
      const gap = guard ? undefined : destructiveGap(rule.when);
      if (gap) {
        findings.push({
          path: [...path, 'stage'],
          severity: 'error',
          check: 'auto-destructive',
          message:
            `${stage.stage} cannot be undone but runs without approval in rule "${rule.name}": automatic ${IRREVERSIBLE_STAGES.join('/')} ` +
            `is allowed only when the rule's when has classes limited to [${AUTO_DESTRUCTIVE_CLASSES.join(', ')}] and minConfidence ≥ ${AUTO_DESTRUCTIVE_MIN_CONFIDENCE} ` +
            `(or a guard always gates it); this rule lacks ${gap}. Add approval: required or narrow the rule`,
        });
      }
    });
  });

  const defaults = policy.approvalDefaults;
  if (defaults.required > approverCount(policy, defaults)) {
    findings.push({
      path: ['approvalDefaults', 'required'],
      severity: 'error',
      check: 'unreachable-approval',
      message: `approvalDefaults need ${defaults.required} distinct approvals but the default groups and escalation hold ${approverCount(policy, defaults)} people`,
    });
  }
  return findings;
}
