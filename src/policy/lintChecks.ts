// The checks behind `cordon policy lint` that need no YAML positions: each finding names the
// path of the policy node it is about, and lint.ts turns that path into FILE:LINE:COL.
import { Severity as SeverityName } from '../alerts/schema';
import {
  IRREVERSIBLE_STAGES,
  type ApprovalSettings,
  type Guard,
  type Match,
  type PolicyRefs,
  type Rule,
  type StageRule,
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
    subset(narrow.providers, broad.providers) &&
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

/**
 * Distinct people who can ever approve under these settings (escalation groups join later), or
 * undefined when a group is unknown or malformed: the schema reports that, and a count without it
 * proves nothing.
 */
function approverCount(
  groups: NonNullable<PolicyParts['approverGroups']>,
  settings: ApprovalSettings,
): number | undefined {
  const names = [...settings.groups, ...settings.escalation];
  // A malformed group (known, but no people to count) leaves the count unknown too.
  const people = names.map((g) => (Object.hasOwn(groups, g) ? groups[g] : undefined));
  if (!people.every((list) => list !== undefined)) return undefined;
  return new Set(people.flat()).size;
}

/**
 * The parts of a policy the checks read. A validated policy is one; lint passes the parts that
 * passed their own schema, and a missing part (or rule, or guard) skips the checks that need it.
 */
export interface PolicyParts extends PolicyRefs {
  shadow?: boolean;
  /** Undefined when the list itself is broken. */
  guards?: readonly (Guard | undefined)[];
  /**
   * Each guard's `requireApproval` as written (by position), where readable: the stages a guard
   * that failed the schema may gate. Missing means unreadable, so such a guard may gate any stage.
   */
  guardGates?: readonly (readonly string[] | undefined)[];
}

/** Rules that can never match, because of their own conditions or an earlier rule; `dead` holds the former. */
function matchFindings(rules: PolicyParts['rules'], lineOf: LineOf): { findings: PathFinding[]; dead: Set<number> } {
  const findings: PathFinding[] = [];
  const dead = new Set<number>();
  rules.forEach((rule, r) => {
    if (!rule) return;
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
    const earlier = rules.findIndex((other, o) => o < r && other && !dead.has(o) && implies(rule.when, other.when));
    const other = rules[earlier];
    if (!other) return;
    const why = hasConditions(other.when)
      ? `every alert it matches is taken first by rule "${other.name}" (line ${lineOf(['rules', earlier])}), whose conditions are broader`
      : `rule "${other.name}" (line ${lineOf(['rules', earlier])}) has no conditions, comes first and takes every alert`;
    findings.push({
      path: ['rules', r],
      severity: 'error',
      check: 'shadowed-rule',
      message: `rule "${rule.name}" can never match: ${why}; the first matching rule wins`,
    });
  });
  return { findings, dead };
}

const guardFindings = (guards: readonly (Guard | undefined)[]): PathFinding[] =>
  guards.flatMap((guard, g): PathFinding[] => {
    const never = guard && contradiction(guard.when);
    return never
      ? [
          {
            path: ['guards', g, 'when', never.field],
            severity: 'error',
            check: 'never-matches',
            message: `guard "${guard.name}" can never apply: ${never.reason}`,
          },
        ]
      : [];
  });

/**
 * A stage's approver override that asks for more approvals than its groups and escalation hold
 * people (stages without one fall back to the defaults, which defaultsFindings checks once).
 */
function overrideFinding(policy: PolicyParts, stage: StageRule, path: (string | number)[]): PathFinding | undefined {
  const { approverGroups, approvalDefaults } = policy;
  if (!stage.approvers || !approverGroups || !approvalDefaults) return undefined;
  const settings = { ...approvalDefaults, ...stage.approvers };
  const people = approverCount(approverGroups, settings);
  if (people === undefined || settings.required <= people) return undefined;
  return {
    path: [...path, 'approvers'],
    severity: 'error',
    check: 'unreachable-approval',
    message: `${stage.stage} needs ${settings.required} distinct approvals but its groups and escalation hold ${people} people: it can only ever time out`,
  };
}

/** An irreversible stage that can run with no one's approval, outside the allowed case. */
function destructiveFinding(
  policy: PolicyParts,
  rule: Rule,
  stage: StageRule,
  path: (string | number)[],
): PathFinding | undefined {
  if (!IRREVERSIBLE_STAGES.includes(stage.stage) || stage.approval === 'required' || floorAlwaysApplies(rule.when))
    return undefined;
  // A guard that failed the schema might gate the stage if it lists it (or if what it lists is
  // unreadable): say nothing rather than something wrong. Stages it does not list stay checked.
  const { guards, guardGates } = policy;
  const mightGate = (g: number) => guardGates?.[g]?.includes(stage.stage) ?? true;
  if (!guards || guards.some((gd, g) => gd === undefined && mightGate(g))) return undefined;
  const guard = guards.find(
    (gd) => gd && gd.requireApproval.includes(stage.stage) && !contradiction(gd.when) && implies(rule.when, gd.when),
  );
  const gap = guard ? undefined : destructiveGap(rule.when);
  if (!gap) return undefined;
  return {
    path: [...path, 'stage'],
    severity: 'error',
    check: 'auto-destructive',
    message:
      `${stage.stage} cannot be undone but runs without approval in rule "${rule.name}": automatic ${IRREVERSIBLE_STAGES.join('/')} ` +
      `is allowed only when the rule's when has classes limited to [${AUTO_DESTRUCTIVE_CLASSES.join(', ')}] and minConfidence ≥ ${AUTO_DESTRUCTIVE_MIN_CONFIDENCE} ` +
      `(or a guard always gates it); this rule lacks ${gap}. Add approval: required or narrow the rule`,
  };
}

/** A live rule's stages: windows that do nothing, unreachable overrides, unsafe automation. */
function stageFindings(policy: PolicyParts, rule: Rule, r: number): PathFinding[] {
  return rule.stages.flatMap((stage, s) => {
    // A repeated stage is stage-order's to report: only its first listing is checked here.
    if (rule.stages.findIndex((other) => other.stage === stage.stage) < s) return [];
    const path = ['rules', r, 'stages', s];
    const window: PathFinding | undefined =
      stage.window !== undefined && stage.stage !== 'verify-window'
        ? {
            path: [...path, 'window'],
            severity: 'warning',
            check: 'ignored-window',
            message: `window is only used by verify-window; on ${stage.stage} it is ignored`,
          }
        : undefined;
    const found = [window, overrideFinding(policy, stage, path), destructiveFinding(policy, rule, stage, path)];
    return found.filter((f) => f !== undefined);
  });
}

function defaultsFindings({ approverGroups, approvalDefaults: defaults }: PolicyParts): PathFinding[] {
  if (!approverGroups || !defaults) return [];
  const people = approverCount(approverGroups, defaults);
  if (people === undefined || defaults.required <= people) return [];
  return [
    {
      path: ['approvalDefaults', 'required'],
      severity: 'error',
      check: 'unreachable-approval',
      message: `approvalDefaults need ${defaults.required} distinct approvals but the default groups and escalation hold ${people} people`,
    },
  ];
}

/** Every check of the policy's logic: dead rules and guards, unsafe automation, unreachable approvals. */
export function policyFindings(policy: PolicyParts, lineOf: LineOf): PathFinding[] {
  const shadow: PathFinding[] = policy.shadow
    ? [
        {
          path: ['shadow'],
          severity: 'warning',
          check: 'shadow-switch',
          message: 'shadow: true makes every case a dry run: no alert gets real containment',
        },
      ]
    : [];
  const matches = matchFindings(policy.rules, lineOf);
  return [
    ...shadow,
    ...matches.findings,
    ...guardFindings(policy.guards ?? []),
    ...policy.rules.flatMap((rule, r) => (rule && !matches.dead.has(r) ? stageFindings(policy, rule, r) : [])),
    ...defaultsFindings(policy),
  ];
}
