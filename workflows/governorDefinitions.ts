// The governor's names and shapes, shared by the governor workflow, activities and the CLI.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The singleton governor's workflow id. */
export const GOVERNOR_WORKFLOW_ID = 'cordon-governor';

/** The governor's own task queue beside the service's `taskQueue` (unchanged when it is one already). */
export function governorTaskQueue(taskQueue: string): string {
  return taskQueue.endsWith('-governor') ? taskQueue : `${taskQueue}-governor`;
}

/** Asked before every state-changing action; the answer comes back as `permitDecision`. */
export interface PermitRequest {
  /** Unique per request; a re-sent request gets the same answer. */
  requestId: string;
  workflowId: string;
  stage: string;
  /** Counts against the destructive-action budget. */
  destructive: boolean;
  /** Humans approved this very action: the budget no longer applies, the kill switch still does. */
  approved: boolean;
  budget: { limit: number; windowMs: number };
  /** A shadow case asks: answer as for a real one, but spend no budget (nothing will be done). */
  shadow?: boolean;
}

/** `granted`: go. `engaged`: kill switch on, wait for release. `over-budget`: get approval first. */
export type PermitDecision = 'granted' | 'engaged' | 'over-budget';

/** One destructive action granted; since the budget is claimed in the database, relayed here. */
export interface Grant {
  at: string;
  workflowId: string;
  stage: string;
  requestId?: string;
}

/** Who engaged or released the kill switch, and why. */
export interface SwitchInput {
  by: string;
  reason?: string;
}

/** The governor's state, as `cordon governor status` prints it. */
export interface GovernorStatus {
  engaged: boolean;
  engagedBy?: string;
  reason?: string;
  since?: string;
  /** Destructive actions granted, newest last (kept for 24 hours). */
  granted: Grant[];
  /** Workflows waiting for the kill switch to be released. */
  waiting: string[];
  /** Released, and not yet told so (the governor bounds its signals in flight). */
  releasing?: string[];
}

/** The governor's answer to one permit request, signalled back to the asking workflow. */
export interface PermitAnswer {
  requestId: string;
  decision: PermitDecision;
}

// Permits travel as signals both ways: a workflow accepts only a few concurrent in-flight
// updates (10 by default), far fewer than the containments that may ask at once.
export const requestPermitSignal = defineSignal<[PermitRequest]>('requestPermit');
export const permitDecisionSignal = defineSignal<[PermitAnswer]>('permitDecision');
/** A grant of the budget claimed in the database, for `governor status` and cases asking by signal. */
export const grantRecordedSignal = defineSignal<[Grant]>('grantRecorded');
export const engageUpdate = defineUpdate<GovernorStatus, [SwitchInput]>('engage');
export const releaseUpdate = defineUpdate<GovernorStatus, [SwitchInput]>('release');
export const governorStatusQuery = defineQuery<GovernorStatus>('status');
/** Just the switch, read before an action outside the budget (the status carries every grant). */
export const killSwitchQuery = defineQuery<boolean>('killSwitchEngaged');

/**
 * The switch as the governor keeps it in its memo (patch governor-switch-in-memo). Only the
 * governor's own code writes it, in the task that moves the switch; a run started or continued
 * has none until its first task, and readers then ask by query.
 */
export const switchMemo = (engaged: boolean) => ({ killSwitch: engaged ? ('engaged' as const) : ('released' as const) });
