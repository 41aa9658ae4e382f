import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { cordonGovernor } from '../../workflows/governor';
import {
  engageUpdate,
  GOVERNOR_WORKFLOW_ID,
  governorStatusQuery,
  governorTaskQueue,
  releaseUpdate,
  type GovernorStatus,
  type SwitchInput,
} from '../../workflows/governorDefinitions';

/**
 * How the singleton governor is started, on its own queue beside the service's `taskQueue`;
 * joining it when it already runs.
 */
export function governorStartOptions(taskQueue: string) {
  return {
    workflowId: GOVERNOR_WORKFLOW_ID,
    taskQueue: governorTaskQueue(taskQueue),
    args: [] as [],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    staticSummary: 'Cordon governor: kill switch and destructive-action budget',
  };
}

/** Engages or releases the kill switch (starting the governor if it never ran). */
export function setKillSwitch(client: Client, taskQueue: string, engaged: boolean, input: SwitchInput): Promise<GovernorStatus> {
  return client.workflow.executeUpdateWithStart(engaged ? engageUpdate : releaseUpdate, {
    args: [input],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof cordonGovernor>('cordonGovernor', governorStartOptions(taskQueue)),
  });
}

/** The governor's state; a governor that never ran is released with no grants. */
export async function governorStatus(client: Client): Promise<GovernorStatus> {
  try {
    return await client.workflow.getHandle(GOVERNOR_WORKFLOW_ID).query(governorStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { engaged: false, granted: [], waiting: [] };
    throw err;
  }
}
