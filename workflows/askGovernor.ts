import type { Duration } from '@temporalio/common';
import type { SwitchReading } from '../activities/governor';
import { getExternalWorkflowHandle, patched, uuid4, workflowInfo } from '@temporalio/workflow';
import { durationMs } from '../src/policy/duration';
import { bookkeeping, budgetClaims, switchReading } from './activities';
import type { AuditTrail } from './auditTrail';
import type { Containment } from './containment';
import {
  GOVERNOR_WORKFLOW_ID,
  requestPermitSignal,
  type PermitDecision,
  type PermitRequest,
} from './governorDefinitions';

/**
 * Patch id: an action outside the budget reads the kill switch by query instead of a permit's
 * round trip through the governor's history, and the case no longer starts the governor up
 * front (asking does, when it is not running).
 */
export const KILL_SWITCH_BY_QUERY = 'kill-switch-read-by-query';
/**
 * Patch id: a destructive action claims the budget in the database by an activity, then asks the
 * governor about the switch only, instead of a permit's signal round trip through the
 * governor's history.
 */
const BUDGET_CLAIMED_IN_STORE = 'budget-claimed-in-store';
/** Patch id: the claim's activity also reads the switch after its commit: one round trip, not two. */
const SWITCH_READ_WITH_CLAIM = 'switch-read-with-claim';
const GOVERNOR_RECHECK = '5 minutes';

// Without an answer by then, ask again: the governor answers a repeated id without recounting.
// The wait doubles each time: a governor slow under load must not be buried in re-asks.
const FIRST_ANSWER_WAIT_MS = 60_000;
const LONGEST_ANSWER_WAIT_MS = 16 * 60_000;

/**
 * Asks the governor for a permit and waits for its `permitDecision` signal, which the
 * workflow's handler files into `answers`. Starts the governor when it is not running.
 */
export async function askGovernor(
  request: PermitRequest,
  answers: Map<string, PermitDecision>,
  waitFor: (done: () => boolean, timeout: Duration) => Promise<boolean>,
): Promise<PermitDecision> {
  let wait = FIRST_ANSWER_WAIT_MS;
  for (;;) {
    try {
      await getExternalWorkflowHandle(GOVERNOR_WORKFLOW_ID).signal(requestPermitSignal, request);
    } catch {
      await bookkeeping.ensureGovernor();
      continue;
    }
    if (await waitFor(() => answers.has(request.requestId), wait)) {
      const decision = answers.get(request.requestId) as PermitDecision;
      answers.delete(request.requestId);
      return decision;
    }
    wait = Math.min(wait * 2, LONGEST_ANSWER_WAIT_MS);
  }
}

/**
 * A case's permits: `permit` claims the budget for a destructive action, then asks the governor
 * about the kill switch and waits it out; `switchOnly` asks about the switch alone, for an action
 * whose budget is spent. `openingSwitch` offers the switch as read at the case's start, while
 * still fresh (see openingReads.ts).
 */
export const governorPermits = (c: Containment, audit: AuditTrail, shadow: boolean, openingSwitch: () => Promise<SwitchReading | undefined>) => {
  const readKillSwitch = async (openingAllowed: boolean): Promise<SwitchReading> =>
    (openingAllowed ? await openingSwitch() : undefined) ?? (await switchReading.readKillSwitch().catch(() => 'unknown' as const));
  // Asks by signal until the governor answers, waiting out an engaged switch (and asking again).
  async function askUntilAnswered(stage: { stage: string }, request: () => PermitRequest, stopOnFalsePositive: boolean): Promise<Exclude<PermitDecision, 'engaged'> | 'stopped'> {
    for (;;) {
      c.governorReleased = false;
      const decision = await askGovernor(request(), c.permitAnswers, (done, timeout) => c.wait(done, timeout));
      if (decision !== 'engaged') {
        c.status.waitingFor = undefined;
        return decision;
      }
      if (c.status.waitingFor !== 'governor') {
        audit.record({ stage: stage.stage, event: 'governor.blocked', actor: 'governor', reason: 'kill switch engaged' });
      }
      c.status.waitingFor = 'governor';
      // The release signal could be lost (a restarted governor forgets its waiters): ask again.
      await c.wait(() => c.governorReleased || (stopOnFalsePositive && c.falsePositive), GOVERNOR_RECHECK);
      if (!c.governorReleased && stopOnFalsePositive && c.falsePositive) {
        c.status.waitingFor = undefined;
        return 'stopped';
      }
    }
  }

  return async function permit(stage: { stage: string }, approved: boolean, stopOnFalsePositive: boolean, switchOnly = false): Promise<Exclude<PermitDecision, 'engaged'> | 'stopped'> {
    const budget = c.context!.policy.governor.budget;
    const destructive = !switchOnly && (budget.stages as string[]).includes(stage.stage);
    const request = (counted = destructive): PermitRequest => ({
      requestId: uuid4(),
      workflowId: workflowInfo().workflowId,
      stage: stage.stage,
      destructive: counted,
      approved,
      budget: { limit: budget.limit, windowMs: durationMs(budget.window) },
      ...(shadow && { shadow: true }),
    });
    // The switch is read after the claim, last before the action: a claim can wait long for the
    // database. A claim whose action then waits out the switch stays spent, so the case then asks
    // about the switch only.
    if (destructive && patched(BUDGET_CLAIMED_IN_STORE)) {
      if (patched(SWITCH_READ_WITH_CLAIM)) {
        const claimed = await budgetClaims.claimBudgetThenReadSwitch(request());
        if (claimed.budget === 'over-budget') return 'over-budget';
        return claimed.killSwitch === 'released' ? 'granted' : askUntilAnswered(stage, () => request(false), stopOnFalsePositive);
      }
      if ((await budgetClaims.claimBudget(request())) === 'over-budget') return 'over-budget';
      return permit(stage, approved, stopOnFalsePositive, true);
    }
    // Outside the budget only the switch matters. Engaged (or unreadable), the case asks, which
    // puts it on the governor's list to be told of the release. After a claim or a pause
    // (switchOnly) it is read anew, never taken from the case's start.
    if (!destructive && patched(KILL_SWITCH_BY_QUERY) && (await readKillSwitch(!switchOnly)) === 'released') return 'granted';
    return askUntilAnswered(stage, request, stopOnFalsePositive);
  };
};
