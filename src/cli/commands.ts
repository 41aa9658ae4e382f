// The commands that talk to Temporal as a client: `status`, and decisions sent as claims.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { connectClient } from '../client/connect';
import { loadConfig } from '../config';
import { statusQuery } from '../../workflows/definitions';
import type { DecisionRun } from './decisionCommands';
import { UsageError } from './errors';
import { printJson } from './io';

type Run<T> = (client: Client, taskQueue: string) => Promise<T>;

/** Runs `fn` with a client of the configured namespace and prints its result as JSON. */
export async function withClient<T>(fn: Run<T>): Promise<void> {
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    printJson(await fn(client, config.CORDON_TASK_QUEUE));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no such workflow: ${err.workflowId}`);
    throw err;
  } finally {
    await client.connection.close();
  }
}

// A decision runs over the authenticated API (no Temporal client needed) or as a claim through Temporal.
export async function runDecision(run: DecisionRun): Promise<void> {
  if ('api' in run) return printJson(await run.api());
  return withClient(run.claim);
}

/** `status ID`. */
export const showStatus = (workflowId: string) => async (client: Client) => {
  const { identity, stage, outcome, attention, ...rest } = await client.workflow
    .getHandle(workflowId)
    .query(statusQuery);
  // Said on stderr too, where a person reads it; on stdout it comes right after the outcome.
  if (attention) process.stderr.write(`cordon: ${workflowId} needs attention: ${attention}\n`);
  return { identity, stage, outcome, ...(attention !== undefined && { attention }), ...rest };
};
