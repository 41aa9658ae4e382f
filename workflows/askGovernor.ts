import type { Duration } from '@temporalio/common';
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { bookkeeping } from './activities';
import {
  GOVERNOR_WORKFLOW_ID,
  requestPermitSignal,
  type PermitDecision,
  type PermitRequest,
} from './governorDefinitions';

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
