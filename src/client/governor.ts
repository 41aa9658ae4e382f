import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { governorOperation } from '../../activities/governor';
import {
  engageUpdate,
  GOVERNOR_WORKFLOW_ID,
  governorStatusQuery,
  releaseUpdate,
  type GovernorStatus,
  type SwitchInput,
} from '../../workflows/governorDefinitions';

/** Engages or releases the kill switch (starting the governor if it never ran). */
export function setKillSwitch(client: Client, taskQueue: string, engaged: boolean, input: SwitchInput): Promise<GovernorStatus> {
  return client.workflow.executeUpdateWithStart(engaged ? engageUpdate : releaseUpdate, {
    args: [input],
    startWorkflowOperation: governorOperation(taskQueue),
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
