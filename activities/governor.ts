import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { cordonGovernor } from '../workflows/governor';
import { GOVERNOR_WORKFLOW_ID, requestPermitUpdate, type PermitDecision, type PermitRequest } from '../workflows/governorDefinitions';

/** The start of the singleton governor, for update-with-start: joins it when it runs. */
export function governorOperation(taskQueue: string) {
  return new WithStartWorkflowOperation<typeof cordonGovernor>('cordonGovernor', {
    workflowId: GOVERNOR_WORKFLOW_ID,
    taskQueue,
    args: [],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'Cordon governor: kill switch and destructive-action budget',
  });
}

/** Asks the governor for permission before a state-changing action. */
export function createGovernorActivities(client: Client, taskQueue: string) {
  return {
    async requestActionPermit(request: PermitRequest): Promise<PermitDecision> {
      // Tied to the activity's cancellation, so a draining worker is not held by a pending update.
      return client.withAbortSignal(Context.current().cancellationSignal, () =>
        client.workflow.executeUpdateWithStart(requestPermitUpdate, {
          args: [request],
          startWorkflowOperation: governorOperation(taskQueue),
        }),
      );
    },
  };
}
