import type { Client } from '@temporalio/client';
import { governorStartOptions } from '../src/client/governor';

/** Keeps the singleton governor running; containments then talk to it with signals. */
export function createGovernorActivities(client: Client, taskQueue: string) {
  return {
    /** Starts the governor unless it runs already (idempotent). */
    async ensureGovernor(): Promise<void> {
      await client.workflow.start('cordonGovernor', governorStartOptions(taskQueue));
    },
  };
}
