// The case asks the store whether a decision it was told of was made through an authenticated
// path. The decision id is a claim like any input; the row is the truth, and only for this case.
import type { Database } from '../src/db';
import { takeDecision } from '../src/decisions/store';
import { caseExecution } from './stepTools';
import { activityInfo } from '@temporalio/activity';

/** What the case expects the decision to be. */
export interface DecisionClaim {
  decisionId: string;
  kind: string;
  requestId?: string;
  actionDigest?: string;
}

/** The person who made it and how they proved it, or null when no such decision is on record. */
export type ConfirmedDecision = { actor: string; method: string; reason?: string } | null;

export function createDecisionActivities(db: Database) {
  return {
    /**
     * Takes a decision for the calling case, once; one for another case, request or action, an old
     * one or one already counted is not found.
     */
    async confirmDecision(claim: DecisionClaim): Promise<ConfirmedDecision> {
      const { workflowId, runId } = caseExecution();
      const usedBy = `${workflowId}/${runId}/${activityInfo().activityId}`;
      const found = await takeDecision(
        db,
        {
          id: claim.decisionId,
          workflowId,
          kind: claim.kind,
          requestId: claim.requestId,
          actionDigest: claim.actionDigest,
        },
        usedBy,
      );
      return found ? { actor: found.actor, method: found.method, reason: found.reason } : null;
    },
  };
}
