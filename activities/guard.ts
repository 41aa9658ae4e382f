// The enforcement point of every state-changing step. What reaches an activity through the
// Temporal namespace (its input, the workflow's plan) is a claim; the guard decides from what the
// worker itself trusts: the workflow id, the policies it loaded from its own files, its
// inventory, the kill switch and the budget in its store.
import type { Database, Query } from '../src/db';
import { approversOnRecord, decisionCounted } from '../src/decisions/store';
import { actionDigestOf } from '../src/domain/decisions';
import { isUnresolved } from '../src/domain/unresolved';
import { isCaseOf, isShadowWorkflowId, type ActionStep, type IdentityTarget, type UndoStep } from '../src/domain/case';
import { findIdentity, type Inventory, type InventoryIdentity } from '../src/inventory';
import { durationMs } from '../src/policy/duration';
import { escalatePlan, plan as planFor, type Plan, type PlannedStage } from '../src/policy/plan';
import type { Policy } from '../src/policy/schema';
import { readKillSwitch } from '../src/killSwitch/store';

/** What the guard lets happen. */
export type Clearance = 'go' | 'kill-switch' | 'over-budget';

// Serializes budget claims across every process sharing the database (pg_advisory_xact_lock key).
const BUDGET_LOCK = 727_002;
// Grants are kept for the longer of this and the budget's window.
const KEEP_GRANTS_MS = 7 * 24 * 3_600_000;

/** Why the workflow id does not allow acting on `target`, or undefined. */
export function identityRefusal(workflowId: string, target: IdentityTarget): string | undefined {
  if (isUnresolved(target)) return `no identity system is known for principal ${target.identityId}: nothing acts on it`;
  if (isCaseOf(workflowId, { provider: target.provider, id: target.identityId })) return undefined;
  return `workflow ${workflowId} is not the case of ${target.provider}:${target.identityId}`;
}

/** The plan the worker's own policy and inventory make from the case's alerts. */
function workerPlan(step: ActionStep, policy: Policy, record: InventoryIdentity | undefined): Plan | undefined {
  const identity = { provider: step.target.provider, id: step.target.identityId };
  let current: Plan | undefined;
  for (const alert of step.alerts) {
    const next = planFor({ ...alert, identity, source: 'case' }, record, policy);
    current = current ? escalatePlan(current, next).plan : next;
  }
  return current;
}

// Why the named approvers do not make the approval the stage needs, or undefined. The names are
// still claims (issue: authenticated approvals); here they are held to the worker's own rules.
function approversRefusal(stage: PlannedStage, approvers: string[], policy: Policy, owner: string | undefined) {
  const groups = [...stage.approvers.groups, ...stage.approval.escalation];
  const members = new Set(groups.flatMap((g) => policy.approverGroups[g] ?? []));
  const outsider = approvers.find((a) => !members.has(a));
  if (outsider) return `${outsider} is not in the approver groups ${groups.join(', ')}`;
  if (!stage.approvers.selfApproval && owner !== undefined && approvers.includes(owner))
    return `${owner} owns this identity and self-approval is off`;
  const distinct = new Set(approvers).size;
  if (distinct < stage.approvers.required)
    return `${stage.stage} needs ${stage.approvers.required} distinct approvers; the step names ${distinct}`;
  return undefined;
}

/**
 * Why the approval the step names is not one the worker can stand behind, or undefined: it must be
 * for this exact action of this case, and in `verified` mode each approver must have decided
 * through an authenticated path (a row in `human_decisions`), whatever the workflow counted.
 */
export async function approvalRefusal(query: Query, step: ActionStep, verifiedMode: boolean, workflowId: string) {
  const { authority, target } = step;
  if (authority.by === 'policy') return undefined;
  const digest = actionDigestOf({
    provider: target.provider,
    identityId: target.identityId,
    caseId: target.caseId,
    stage: step.stage,
    action: step.action,
    policyDigest: step.policyDigest,
  });
  if (authority.by === 'approvers' && authority.actionDigest !== digest)
    return `the approval names action ${authority.actionDigest}, not this one (${digest})`;
  if (authority.by !== 'approvers' || !verifiedMode) return undefined;
  const proven = await approversOnRecord(query, workflowId, authority.requestId, digest);
  const unproven = authority.approvers.filter((a) => !proven.has(a));
  return unproven.length
    ? `verified mode: no authenticated approval by ${unproven.join(', ')} is on record for ${authority.requestId}`
    : undefined;
}

/**
 * Why an undo a person asked for (a false positive, a deny) may not run, or undefined: in
 * `verified` mode the decision must be an authenticated one this case counted. Undos by Cordon's
 * own rules (a failure, a timeout) always run: they only restore.
 */
export async function undoRefusal(query: Query, step: UndoStep, verifiedMode: boolean, workflowId: string) {
  const cause = step.cause;
  if (!cause || !verifiedMode) return undefined;
  if (cause.decisionId && (await decisionCounted(query, cause.decisionId, workflowId, [cause.kind]))) return undefined;
  return `verified mode: the ${cause.kind} that asked for this undo is not an authenticated decision on record`;
}

/** Why the worker's policy does not allow this step on this authority, or undefined. */
export function policyRefusal(step: ActionStep, policy: Policy | undefined, inventory: Inventory): string | undefined {
  if (!policy)
    return `policy ${step.policyDigest} is neither the worker's current policy nor the one this case was opened with`;
  const record = findIdentity(inventory, { provider: step.target.provider, id: step.target.identityId });
  const stage = workerPlan(step, policy, record)?.stages.find((s) => s.stage === step.stage);
  if (!stage || stage.action !== step.action)
    return `the worker's policy plans no ${step.action} at ${step.stage} for this case`;
  const { authority } = step;
  // Approvers named where the plan needs none (over the budget, say) are held to the same rules.
  if (authority.by === 'approvers') return approversRefusal(stage, authority.approvers, policy, record?.owner);
  if (!stage.requiresApproval) return undefined;
  if (authority.by === 'timeout' && stage.approval.onTimeout === 'proceed') return undefined;
  return `${step.stage} requires approval under the worker's policy; the step names none`;
}

/** What a claim on the budget is about. */
export interface Claim {
  /** Unique per activity (retries share it): a retried claim gets its first answer. */
  claimId: string;
  workflowId: string;
  stage: string;
  approved: boolean;
  /** The budget it counts against (a destructive stage); absent, only the switch matters. */
  budget?: Policy['governor']['budget'];
}

/**
 * Reads the kill switch and, for a destructive action, claims the budget, in one transaction. An
 * approved action is always granted and counts; a shadow case is answered as a real one would be
 * and spends nothing. The switch is read here, last before the action: an action whose read
 * answered just before the switch was engaged still starts.
 */
export async function clearAction(db: Database, claim: Claim): Promise<Clearance> {
  return db.transaction(async (query) => {
    // A claim that outlives its activity timeout must not queue for the lock forever.
    await query(`SET LOCAL lock_timeout = '5s'`);
    if ((await readKillSwitch(query)).engaged) {
      await query('INSERT INTO kill_switch_waiters (workflow_id) VALUES ($1) ON CONFLICT DO NOTHING', [
        claim.workflowId,
      ]);
      return 'kill-switch';
    }
    const { budget } = claim;
    if (!budget) return 'go';
    await query('SELECT pg_advisory_xact_lock($1)', [BUDGET_LOCK]);
    const known = await query('SELECT 1 FROM budget_grants WHERE request_id = $1', [claim.claimId]);
    if (known.rows.length) return 'go';
    const windowMs = durationMs(budget.window);
    await query(
      `DELETE FROM budget_grants WHERE granted_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [Math.max(KEEP_GRANTS_MS, windowMs)],
    );
    const { rows } = await query<{ n: string }>(
      `SELECT count(*) AS n FROM budget_grants WHERE granted_at > now() - make_interval(secs => $1::double precision / 1000)`,
      [windowMs],
    );
    if (!claim.approved && Number(rows[0].n) >= budget.limit) return 'over-budget';
    if (isShadowWorkflowId(claim.workflowId)) return 'go';
    await query(`INSERT INTO budget_grants (request_id, workflow_id, stage, approved) VALUES ($1, $2, $3, $4)`, [
      claim.claimId,
      claim.workflowId,
      claim.stage,
      claim.approved,
    ]);
    return 'go';
  });
}
