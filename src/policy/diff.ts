// `cordon policy diff`: what a policy change does to the plans of real alerts. Pure.
import type { Alert } from '../alerts/schema';
import type { InventoryIdentity } from '../inventory/schema';
import { escalatePlan, plan, type Plan, type PlannedStage } from './plan';
import type { Policy, StageName } from './schema';

/** One field of a stage that both plans run, with its old and new value. */
export interface StageFieldChange {
  stage: StageName;
  field: string;
  before: unknown;
  after: unknown;
}

/** How the plan for one alert differs between two policies. */
export interface PlanChange {
  rule?: { before: string; after: string };
  /** New stages, with whether they wait for approval (an automatic revoke matters most). */
  stagesAdded: { stage: StageName; requiresApproval: boolean; onTimeout: string }[];
  stagesRemoved: StageName[];
  stageChanges: StageFieldChange[];
}

// The fields of a stage that change what happens; descriptive ones (action, reversible) follow the stage name.
const STAGE_FIELDS: Record<string, (s: PlannedStage) => unknown> = {
  requiresApproval: (s) => s.requiresApproval,
  'approvers.groups': (s) => s.approvers.groups,
  'approvers.required': (s) => s.approvers.required,
  'approvers.selfApproval': (s) => s.approvers.selfApproval,
  'approval.deadline': (s) => s.approval.deadline,
  'approval.escalation': (s) => s.approval.escalation,
  'approval.onTimeout': (s) => s.approval.onTimeout,
  'approval.maxHold': (s) => s.approval.maxHold,
  window: (s) => s.window,
  onDeny: (s) => s.onDeny,
  onFailure: (s) => s.onFailure,
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A policy-wide setting that changes with no alert's plan showing it. */
export interface SettingChange {
  field: string;
  before: unknown;
  after: unknown;
}

// Policy-wide settings that change what every case does, whatever its plan: the shadow switch
// (no case acts at all), who may approve, the destructive-action budget, how long cases stay open.
const SETTINGS: (keyof Policy)[] = ['shadow', 'approverGroups', 'governor', 'caseHold'];

/** The policy-wide settings that differ between two policies. */
export function diffSettings(before: Policy, after: Policy): SettingChange[] {
  return SETTINGS.filter((field) => !same(before[field], after[field])).map((field) => ({
    field,
    before: before[field],
    after: after[field],
  }));
}

/**
 * The plan a case ends with under `policy`: its first alert's, escalated by each later alert in
 * the order the case received them, as the workflow replans (stages only ever added).
 */
export function casePlan(alerts: readonly Alert[], identity: InventoryIdentity | undefined, policy: Policy): Plan {
  const [first, ...later] = alerts;
  return later.reduce(
    (current, alert) => escalatePlan(current, plan(alert, identity, policy)).plan,
    plan(first, identity, policy),
  );
}

/** The differences between two plans for the same alert, or undefined when they act the same. */
export function diffPlans(before: Plan, after: Plan): PlanChange | undefined {
  const names = (p: Plan) => p.stages.map((s) => s.stage);
  const change: PlanChange = {
    ...(before.rule !== after.rule && { rule: { before: before.rule, after: after.rule } }),
    stagesAdded: after.stages
      .filter((s) => !names(before).includes(s.stage))
      .map((s) => ({ stage: s.stage, requiresApproval: s.requiresApproval, onTimeout: s.approval.onTimeout })),
    stagesRemoved: names(before).filter((n) => !names(after).includes(n)),
    stageChanges: [],
  };
  for (const old of before.stages) {
    const next = after.stages.find((s) => s.stage === old.stage);
    if (!next) continue;
    for (const [field, get] of Object.entries(STAGE_FIELDS)) {
      if (!same(get(old), get(next)))
        change.stageChanges.push({ stage: old.stage, field, before: get(old), after: get(next) });
    }
  }
  const changed = change.rule || change.stagesAdded.length || change.stagesRemoved.length || change.stageChanges.length;
  return changed ? change : undefined;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Human-readable lines for one alert's change, indented under its heading. */
export function describeChange(change: PlanChange): string[] {
  const lines: string[] = [];
  if (change.rule) lines.push(`rule: ${change.rule.before} → ${change.rule.after}`);
  for (const s of change.stagesAdded) {
    lines.push(
      `${s.stage}: added, ${s.requiresApproval ? `requires approval (on timeout: ${s.onTimeout})` : 'automatic'}`,
    );
  }
  for (const stage of change.stagesRemoved) lines.push(`${stage}: removed`);
  for (const c of change.stageChanges) {
    lines.push(
      c.field === 'requiresApproval'
        ? `${c.stage}: ${c.after ? 'now requires approval' : 'no longer requires approval (automatic)'}`
        : `${c.stage}: ${c.field} ${show(c.before)} → ${show(c.after)}`,
    );
  }
  return lines;
}
