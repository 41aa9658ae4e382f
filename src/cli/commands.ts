import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { parseAlert } from '../alerts';
import { governorStatus, setKillSwitch } from '../client/governor';
import { submitAlert } from '../client/submitAlert';
import { findIdentity } from '../inventory';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan } from '../policy/plan';
import { decideUpdate, falsePositiveSignal, statusQuery } from '../../workflows/definitions';
import { UsageError } from './errors';
import { readJsonFile } from './io';

function validAlert(file: string) {
  const parsed = parseAlert(readJsonFile(file));
  if (!parsed.ok) {
    throw new UsageError(`invalid alert in ${file}:\n${parsed.problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
  }
  return parsed.alert;
}

/** `alert send FILE`: validate locally, then start or join the containment. */
export function sendAlert(file: string, searchAttributes: boolean) {
  const alert = validAlert(file);
  return (client: Client, taskQueue: string) => submitAlert(client, taskQueue, alert, { searchAttributes });
}

/** `plan ALERT.json`: the plan the policy gives, without Temporal. */
export function planAlert(file: string, policyFile: string, inventoryFile: string) {
  const alert = validAlert(file);
  return plan(alert, findIdentity(loadInventory(inventoryFile), alert.identity), loadPolicy(policyFile));
}

/** `status ID`. */
export const showStatus = (workflowId: string) => (client: Client) => client.workflow.getHandle(workflowId).query(statusQuery);

/** `approve|deny ID --request R --as A`: the `decide` update; a refusal is a usage error. */
export function decide(workflowId: string, decision: 'approve' | 'deny', opts: { request: string; as: string; reason?: string }) {
  return async (client: Client) => {
    try {
      return await client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, {
        args: [{ decision, requestId: opts.request, approver: opts.as, reason: opts.reason }],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      throw err;
    }
  };
}

/** `false-positive ID --as WHO`. */
export function declareFalsePositive(workflowId: string, opts: { as: string; reason?: string }) {
  return async (client: Client) => {
    await client.workflow.getHandle(workflowId).signal(falsePositiveSignal, { by: opts.as, reason: opts.reason });
    return { workflowId, signal: 'falsePositive', by: opts.as };
  };
}

/** `governor engage|release|status`. */
export function governor(action: string, opts: { as?: string; reason?: string }) {
  return async (client: Client, taskQueue: string) => {
    if (action === 'status') return governorStatus(client);
    if (action !== 'engage' && action !== 'release') throw new UsageError(`governor: unknown action "${action}" (engage, release, status)`);
    if (!opts.as) throw new UsageError(`governor ${action} needs --as WHO`);
    return setKillSwitch(client, taskQueue, action === 'engage', { by: opts.as, reason: opts.reason });
  };
}
