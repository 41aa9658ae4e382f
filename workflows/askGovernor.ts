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
const ANSWER_WAIT = '1 minute';

/**
 * Asks the governor for a permit and waits for its `permitDecision` signal, which the
 * workflow's handler files into `answers`. Starts the governor when it is not running.
 */
export async function askGovernor(
  request: PermitRequest,
  answers: Map<string, PermitDecision>,
  wait: (done: () => boolean, timeout: Duration) => Promise<boolean>,
): Promise<PermitDecision> {
  for (;;) {
    try {
      await getExternalWorkflowHandle(GOVERNOR_WORKFLOW_ID).signal(requestPermitSignal, request);
    } catch {
      await bookkeeping.ensureGovernor();
      continue;
    }
    if (await wait(() => answers.has(request.requestId), ANSWER_WAIT)) {
      const decision = answers.get(request.requestId) as PermitDecision;
      answers.delete(request.requestId);
      return decision;
    }
  }
}
