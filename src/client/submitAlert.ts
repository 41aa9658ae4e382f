import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Alert } from '../alerts/schema';
import { redactAlert } from '../secrets';
import { IDENTITY, PROVIDER, SEVERITY } from '../temporal/searchAttributes';
import type { ContainmentContext } from '../domain/case';
import {
  alertSignal,
  caseWorkflowId,
  deliveryQuery,
  type ContainIdentityInput,
  type ContainmentStatus,
  type Disposition,
} from '../../workflows/definitions';

/** What intake and the CLI answer for one submitted alert. */
export interface Submission {
  workflowId: string;
  runId: string;
  /** `pending` when the workflow has the alert but no worker answered in time. */
  disposition: Disposition | 'pending';
}

// How long Temporal may take to accept the alert before the caller is told it did not.
const HANDOVER_DEADLINE_MS = 5_000;
// How long to wait for a worker to report what the alert became.
const DISPOSITION_WAIT_MS = 10_000;

/**
 * Delivers a validated alert, its secrets fingerprinted, to its identity's containment workflow, starting it if none
 * runs (signalWithStart), then asks the workflow what it made of this delivery. A `shadow`
 * alert goes to the identity's shadow case (`shadow:contain:…`), never to the real one. Throws when
 * Temporal does not take the alert within a few seconds: the caller must not report success.
 * Without `askDisposition` it only hands the alert over (answering `pending`).
 */
export async function submitAlert(
  client: Client,
  taskQueue: string,
  submitted: Alert,
  {
    searchAttributes = true,
    askDisposition = true,
    context,
  }: {
    searchAttributes?: boolean;
    askDisposition?: boolean;
    /** The case's policy and inventory record, from a process that reads the worker's files. */
    context?: ContainmentContext;
  } = {},
): Promise<Submission> {
  // The last step before Temporal: nothing after it may hold a secret the rule sets can find.
  const alert = await redactAlert(submitted);
  const workflowId = caseWorkflowId(alert);
  const deliveryId = randomUUID();
  const handle = await client.withDeadline(Date.now() + HANDOVER_DEADLINE_MS, () =>
    client.workflow.signalWithStart<
      (input: ContainIdentityInput) => Promise<ContainmentStatus>,
      [unknown, { deliveryId: string }?]
    >('containIdentity', {
      workflowId,
      taskQueue,
      args: [
        {
          identity: alert.identity,
          searchAttributes,
          ...(alert.shadow && { shadow: true }),
          ...(context && { context }),
        },
      ],
      signal: alertSignal,
      signalArgs: [alert, { deliveryId }],
      typedSearchAttributes: searchAttributes
        ? [
            { key: IDENTITY, value: `${alert.identity.provider}:${alert.identity.id}` },
            { key: PROVIDER, value: alert.identity.provider },
            { key: SEVERITY, value: alert.severity },
          ]
        : [],
      staticSummary: `${alert.shadow ? 'Shadow run (no provider actions): contain' : 'Contain'} ${alert.identity.provider} identity ${alert.identity.id}`,
      staticDetails: `Started by alert ${alert.id} (${alert.kind}, ${alert.severity}) from ${alert.source}`,
    }),
  );
  const runId = handle.signaledRunId;
  if (!askDisposition) return { workflowId, runId, disposition: 'pending' };
  const disposition = await client
    .withDeadline(Date.now() + DISPOSITION_WAIT_MS, () =>
      client.workflow.getHandle(workflowId, runId).query(deliveryQuery, deliveryId),
    )
    .catch(() => null);
  return { workflowId, runId, disposition: disposition ?? 'pending' };
}
