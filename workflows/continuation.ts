// When a case moves to a new run, and how: its history must stay well under Temporal's limits
// (50 MB or 51,200 events end a workflow; a reader's gRPC message limit is 4 MB).
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { Case } from './case';
import type { containIdentity } from './containIdentity';
import type { ContainIdentityInput } from './definitions';

const DEFAULT_MAX_HISTORY_EVENTS = 10_000;
// Temporal's own suggestion comes at 4 MB by default; a server configured otherwise still gets this.
const DEFAULT_MAX_HISTORY_BYTES = 4 * 1024 * 1024;

/** Whether this run's history should be handed to a new run: by Temporal's suggestion, length or size. */
export function historyTooLong(input: ContainIdentityInput): boolean {
  const { continueAsNewSuggested, historyLength, historySize } = workflowInfo();
  return (
    continueAsNewSuggested ||
    historyLength > (input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS) ||
    historySize > (input.maxHistoryBytes ?? DEFAULT_MAX_HISTORY_BYTES)
  );
}

/**
 * Continues the case as a new run carrying its state (a pending approval request, and what it
 * has not delivered yet, included) once handlers finished. Returns only when `stillNeeded` turned
 * false meanwhile (input arrived that this run must handle first).
 */
export async function continueCase(c: Case, input: ContainIdentityInput, stillNeeded: () => boolean): Promise<void> {
  await condition(allHandlersFinished);
  if (!stillNeeded()) return;
  const { historyLength, historySize } = workflowInfo();
  // Stored by the new run's first delivery, with everything else this run did not deliver.
  c.record({
    stage: c.status.stage,
    event: 'case.continued',
    actor: 'cordon',
    reason: 'history long enough to move to a new run',
    result: { historyEvents: historyLength, historyBytes: historySize, pendingRequest: c.gate.request?.requestId },
  });
  await continueAsNew<typeof containIdentity>({ ...input, alert: undefined, context: undefined, carried: c.carry() });
}
