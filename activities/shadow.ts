import type { Client } from '@temporalio/client';
import type { Alert } from '../src/alerts/schema';
import { submitAlert, type Submission } from '../src/client/submitAlert';

/** Hands alerts to shadow cases, for a policy whose switch makes every case a dry run. */
export function createShadowActivities(client: Client, taskQueue: string) {
  return {
    /**
     * Delivers each alert, marked `shadow`, to its identity's shadow case (started if needed).
     * Hand-over only, all at once: waiting for each disposition could outlast the activity's
     * timeout on a busy worker and fail the forwarding case. A retry re-delivers: the shadow
     * case's ledger answers a known alert id as a duplicate.
     */
    async forwardToShadowCase({
      alerts,
      searchAttributes,
    }: {
      alerts: Alert[];
      searchAttributes?: boolean;
    }): Promise<Submission[]> {
      return Promise.all(
        alerts.map((alert) =>
          submitAlert(client, taskQueue, { ...alert, shadow: true }, { searchAttributes, askDisposition: false }),
        ),
      );
    },
  };
}
