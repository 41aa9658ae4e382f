import { WorkflowClient, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { GOVERNOR_READ_DEADLINE_MS, governorStartOptions, lastGovernorState } from '../src/client/governor';
import type { Logger } from '../src/log';
import { GOVERNOR_WORKFLOW_ID, killSwitchQuery, type GovernorStatus } from '../workflows/governorDefinitions';

/** The kill switch as a case reads it; `unknown` when it could not be read. */
export type SwitchReading = 'engaged' | 'released' | 'unknown';

/** Starts the singleton governor when asking it fails, and reads its kill switch. */
export function createGovernorActivities(client: Client, taskQueue: string, logger: Logger) {
  // A terminated governor's last state is not the switch: only a running one answers.
  const openOnly = new WorkflowClient({ connection: client.connection, namespace: client.options.namespace, queryRejectCondition: 'NOT_OPEN' });
  return {
    /**
     * Starts the governor unless it runs already (idempotent), from the last run's state. When
     * that state cannot be read, the new run starts engaged: an engaged switch must not be lost
     * to a terminated governor; a human checks and releases it.
     */
    async ensureGovernor(): Promise<void> {
      let carried: GovernorStatus | undefined;
      try {
        carried = await lastGovernorState(client, GOVERNOR_READ_DEADLINE_MS);
      } catch (err) {
        const reason = `the last governor's state could not be read (${(err as Error).message}): check, then release`;
        logger.error({ err: (err as Error).message }, 'last governor state unreadable: a governor started now starts engaged');
        carried = { engaged: true, engagedBy: 'cordon', reason, since: new Date().toISOString(), granted: [], waiting: [] };
      }
      await client.workflow.start('cordonGovernor', governorStartOptions(taskQueue, carried));
    },

    /**
     * The kill switch as the running governor holds it: from its memo, which the history service
     * answers without the governor's worker, or by query from a governor that keeps none yet
     * (started before the memo, or not past its first task). No signal either way and no event
     * in its history. `unknown` when it cannot be read (not running, unreachable, its workflow
     * task failing): the case then asks by signal, which starts the governor and waits.
     */
    async readKillSwitch(): Promise<SwitchReading> {
      try {
        const governor = openOnly.getHandle(GOVERNOR_WORKFLOW_ID);
        return await openOnly.withDeadline(Date.now() + GOVERNOR_READ_DEADLINE_MS, async () => {
          const { status, memo, raw } = await governor.describe();
          // A governor whose task keeps failing could not take an engage: its memo may be stale.
          if (status.name !== 'RUNNING' || (raw.pendingWorkflowTask?.attempt ?? 1) > 1) return 'unknown';
          const kept = memo?.killSwitch;
          if (kept === 'engaged' || kept === 'released') return kept;
          return (await governor.query(killSwitchQuery)) === false ? 'released' : 'engaged';
        });
      } catch (err) {
        // Not running is expected before the first ask; anything else is worth knowing about.
        if (!(err instanceof WorkflowNotFoundError)) logger.warn({ err: (err as Error).message, cause: ((err as Error).cause as Error | undefined)?.message }, 'kill switch unreadable: asking the governor instead');
        return 'unknown';
      }
    },
  };
}
