// The enforcement point of every state-changing step. What reaches an activity through the
// Temporal namespace (its input, the workflow's plan) is a claim; the guard decides from what the
// worker itself trusts: the workflow id, the policies it loaded from its own files, its
// inventory, the kill switch and the budget in its store.
import type { Database } from '../src/db';
import { isCaseOf, isShadowWorkflowId, type ActionStep, type IdentityTarget } from '../src/domain/case';
import { findIdentity, type Inventory } from '../src/inventory';
import { durationMs } from '../src/policy/duration';
import { escalatePlan, plan as planFor, type Plan } from '../src/policy/plan';
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
  if (isCaseOf(workflowId, { provider: target.provider, id: target.identityId })) return undefined;
  return `workflow ${workflowId} is not the case of ${target.provider}:${target.identityId}`;
}

/** The plan the worker's own policy and inventory make from the case's alerts. */
function workerPlan(step: ActionStep, policy: Policy, inventory: Inventory): Plan | undefined {
  const identity = { provider: step.target.provider, id: step.target.identityId };
  const record = findIdentity(inventory, identity);
  let current: Plan | undefined;
  for (const alert of step.alerts) {
    const next = planFor({ ...alert, identity, source: 'case' }, record, policy);
    current = current ? escalatePlan(current, next).plan : next;
  }
  return current;
}

/** Why the worker's policy does not allow this step on this authority, or undefined. */
export function policyRefusal(step: ActionStep, policy: Policy | undefined, inventory: Inventory): string | undefined {
  if (!policy) return `policy ${step.policyDigest} was never loaded by this worker from its policy file`;
  const stage = workerPlan(step, policy, inventory)?.stages.find((s) => s.stage === step.stage);
  if (!stage || stage.action !== step.action)
    return `the worker's policy plans no ${step.action} at ${step.stage} for this case`;
  if (!stage.requiresApproval) return undefined;
  const { authority } = step;
  if (authority.by === 'approvers') {
    return authority.approvers.length >= stage.approvers.required
      ? undefined
      : `${step.stage} needs ${stage.approvers.required} approvals; the step names ${authority.approvers.length}`;
  }
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
  /** Counted against the budget (a stage in the policy's budget), or only the switch matters. */
  destructive: boolean;
  budget: Policy['governor']['budget'];
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
    if (!claim.destructive) return 'go';
    await query('SELECT pg_advisory_xact_lock($1)', [BUDGET_LOCK]);
    const known = await query('SELECT 1 FROM budget_grants WHERE request_id = $1', [claim.claimId]);
    if (known.rows.length) return 'go';
    const windowMs = durationMs(claim.budget.window);
    await query(
      `DELETE FROM budget_grants WHERE granted_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [Math.max(KEEP_GRANTS_MS, windowMs)],
    );
    const { rows } = await query<{ n: string }>(
      `SELECT count(*) AS n FROM budget_grants WHERE granted_at > now() - make_interval(secs => $1::double precision / 1000)`,
      [windowMs],
    );
    if (!claim.approved && Number(rows[0].n) >= claim.budget.limit) return 'over-budget';
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
