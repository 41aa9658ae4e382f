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
 * joining it when it already runs. A new run starts from `carried`, the last run's state.
 */
export function governorStartOptions(taskQueue: string, carried?: GovernorStatus) {
  return {
    workflowId: GOVERNOR_WORKFLOW_ID,
    taskQueue: governorTaskQueue(taskQueue),
    args: (carried ? [carried] : []) as [GovernorStatus?],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    staticSummary: 'Cordon governor: kill switch and destructive-action budget',
  };
}

/** How long Cordon's own reads of the governor may take: a governor whose worker is down must not hold anything up. */
export const GOVERNOR_READ_DEADLINE_MS = 5_000;

/**
 * The state of the governor's latest run, running or closed (terminated, failed): a governor
 * started again must not come back released with its grants forgotten. `undefined` when no
 * governor ran (or its history is gone); a failure to read it, or to read it within
 * `deadlineMs`, is thrown.
 */
export async function lastGovernorState(client: Client, deadlineMs?: number): Promise<GovernorStatus | undefined> {
  const query = () => client.workflow.getHandle(GOVERNOR_WORKFLOW_ID).query(governorStatusQuery);
  try {
    return await (deadlineMs === undefined ? query() : client.withDeadline(Date.now() + deadlineMs, query));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Engages or releases the kill switch, starting the governor if none runs: from the last run's
 * state when it can be read (the switch is then set as asked either way).
 */
export async function setKillSwitch(client: Client, taskQueue: string, engaged: boolean, input: SwitchInput): Promise<GovernorStatus> {
  const carried = await lastGovernorState(client, GOVERNOR_READ_DEADLINE_MS).catch(() => undefined);
  return client.workflow.executeUpdateWithStart(engaged ? engageUpdate : releaseUpdate, {
    args: [input],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof cordonGovernor>('cordonGovernor', governorStartOptions(taskQueue, carried)),
  });
}

/** The governor's state (a closed run's last one); a governor that never ran is released with no grants. */
export async function governorStatus(client: Client): Promise<GovernorStatus> {
  return (await lastGovernorState(client)) ?? { engaged: false, granted: [], waiting: [] };
}
