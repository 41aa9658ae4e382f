// Pure and deterministic: workflows call `plan` directly.
import type { Alert, IdentityRef } from '../alerts/schema';
import { digestOf } from '../digest';
import { isUnresolved } from '../domain/unresolved';
import type { InventoryIdentity } from '../inventory/schema';
import type { ApprovalSettings, Match, Policy, StageRule } from './schema';
import { IRREVERSIBLE_STAGES, STAGE_ORDER, type StageName } from './stages';

/** The connector action each stage performs (`observe` and the window act on nothing). */
export const STAGE_ACTIONS: Record<StageName, string> = {
  observe: 'observe',
  restrict: 'restrict',
  isolate: 'isolate',
  'verify-window': 'wait',
  revoke: 'revoke',
  rotate: 'rotate',
};

/** One stage as it will run. */
export interface PlannedStage {
  stage: StageName;
  action: string;
  reversible: boolean;
  requiresApproval: boolean;
  approvers: Pick<ApprovalSettings, 'groups' | 'required' | 'selfApproval'>;
  approval: Pick<ApprovalSettings, 'deadline' | 'reminderEvery' | 'escalation' | 'onTimeout' | 'maxHold'>;
  window?: string;
  onDeny: StageRule['onDeny'];
  onFailure: StageRule['onFailure'];
}

/** What the identity is, as far as the plan is concerned. */
export interface PlannedIdentity extends IdentityRef {
  known: boolean;
  class?: InventoryIdentity['class'];
  shared?: boolean;
  environment?: string;
  criticality?: InventoryIdentity['criticality'];
  owner?: string;
}

/** The containment plan for one alert on one identity under one policy. */
export interface Plan {
  policyVersion: string;
  policyDigest: string;
  rule: string;
  identity: PlannedIdentity;
  stages: PlannedStage[];
  reasons: string[];
}

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

function matches(when: Match, alert: Alert, identity: InventoryIdentity | undefined): boolean {
  const known = identity !== undefined;
  return (
    (when.kinds === undefined || when.kinds.includes(alert.kind)) &&
    (when.providers === undefined || when.providers.includes(alert.identity.provider)) &&
    (when.minSeverity === undefined || SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[when.minSeverity]) &&
    (when.minConfidence === undefined || alert.confidence >= when.minConfidence) &&
    (when.confidenceBelow === undefined || alert.confidence < when.confidenceBelow) &&
    (when.known === undefined || when.known === known) &&
    (when.classes === undefined || (known && when.classes.includes(identity.class))) &&
    (when.shared === undefined || (known && identity.shared === when.shared)) &&
    (when.environments === undefined || (known && when.environments.includes(identity.environment))) &&
    (when.criticality === undefined || (known && when.criticality.includes(identity.criticality))) &&
    (when.owners === undefined || (known && identity.owner !== undefined && when.owners.includes(identity.owner))) &&
    (when.minConsumers === undefined || (known && identity.consumers.length >= when.minConsumers))
  );
}

// The floor no policy file can lower: these identities never get an automatic irreversible step.
function safetyFloor(identity: InventoryIdentity | undefined): string | undefined {
  if (!identity) return 'unknown identity';
  if (identity.shared) return 'shared credential';
  if (identity.class === 'break-glass') return 'break-glass identity';
  return undefined;
}

/** Digest of a validated policy: what every plan and audit entry cites. */
export function policyDigest(policy: Policy): string {
  return digestOf(policy);
}

/** Decides which stages run for `alert` on `identity` (undefined = not in the inventory). */
export function plan(alert: Alert, identity: InventoryIdentity | undefined, policy: Policy): Plan {
  const reasons: string[] = [];
  // No identity system is known for the principal: nothing could act on it, whatever a rule says.
  const unresolved = isUnresolved(alert.identity);
  const rule = unresolved ? undefined : policy.rules.find((r) => matches(r.when, alert, identity));
  const chosen: StageRule[] = rule?.stages ?? [
    { stage: 'observe', approval: 'auto', onDeny: 'rollback', onFailure: 'hold' },
  ];
  if (unresolved) reasons.push('no identity system is known for this principal: observe only');
  else reasons.push(rule ? `rule "${rule.name}" matched` : 'no rule matched: observe only');

  const floor = safetyFloor(identity);
  const stages: PlannedStage[] = [];
  for (const name of STAGE_ORDER) {
    const spec = chosen.find((s) => s.stage === name);
    if (!spec) {
      reasons.push(`${name}: out (not in rule ${rule ? `"${rule.name}"` : 'fallback'})`);
      continue;
    }
    const settings: ApprovalSettings = { ...policy.approvalDefaults, ...spec.approvers };
    const reversible = !IRREVERSIBLE_STAGES.includes(name);
    let requiresApproval = spec.approval === 'required';
    const why = [requiresApproval ? 'approval required by rule' : 'automatic'];
    for (const guard of policy.guards) {
      if (guard.requireApproval.includes(name) && matches(guard.when, alert, identity)) {
        requiresApproval = true;
        why.push(`approval forced by guard "${guard.name}"`);
      }
    }
    if (!reversible && !requiresApproval && floor) {
      requiresApproval = true;
      why.push(`approval forced: ${floor} is never revoked automatically`);
    }
    let onTimeout = settings.onTimeout;
    if (!reversible && onTimeout === 'proceed') {
      onTimeout = 'hold';
      why.push('on timeout: hold (an irreversible step never proceeds unapproved)');
    }
    reasons.push(`${name}: in (${why.join('; ')})`);
    stages.push({
      stage: name,
      action: STAGE_ACTIONS[name],
      reversible,
      requiresApproval,
      approvers: { groups: settings.groups, required: settings.required, selfApproval: settings.selfApproval },
      approval: {
        deadline: settings.deadline,
        reminderEvery: settings.reminderEvery,
        escalation: settings.escalation,
        onTimeout,
        maxHold: settings.maxHold,
      },
      ...(name === 'verify-window' ? { window: spec.window ?? policy.verifyWindow } : {}),
      onDeny: spec.onDeny,
      onFailure: spec.onFailure,
    });
  }

  return {
    policyVersion: policy.version,
    policyDigest: policyDigest(policy),
    rule: rule?.name ?? (unresolved ? '(unresolved identity: observe only)' : '(fallback: observe only)'),
    identity: {
      ...alert.identity,
      known: identity !== undefined,
      ...(identity && {
        class: identity.class,
        shared: identity.shared,
        environment: identity.environment,
        criticality: identity.criticality,
        owner: identity.owner,
      }),
    },
    stages,
    reasons,
  };
}

/**
 * Combines the running plan with one made for newer evidence: stages only ever get added,
 * and a stage keeps the stricter of its two approval requirements. Never de-escalates.
 */
export function escalatePlan(current: Plan, next: Plan): { plan: Plan; added: StageName[]; gated: StageName[] } {
  const added: StageName[] = [];
  const gated: StageName[] = [];
  const stages = STAGE_ORDER.flatMap((name) => {
    const mine = current.stages.find((s) => s.stage === name);
    const theirs = next.stages.find((s) => s.stage === name);
    if (mine && theirs && theirs.requiresApproval && !mine.requiresApproval) {
      gated.push(name);
      return [theirs];
    }
    if (mine) return [mine];
    if (theirs) {
      added.push(name);
      return [theirs];
    }
    return [];
  });
  if (added.length === 0 && gated.length === 0) return { plan: current, added, gated };
  const changes = [
    added.length ? `added ${added.join(', ')}` : '',
    gated.length ? `approval now required for ${gated.join(', ')}` : '',
  ];
  return {
    plan: {
      ...current,
      rule: `${current.rule} + ${next.rule}`,
      stages,
      reasons: [
        ...current.reasons,
        `escalated by newer evidence (rule "${next.rule}"): ${changes.filter(Boolean).join('; ')}`,
      ],
    },
    added,
    gated,
  };
}
