import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { parseAlert } from '../alerts';
import { fetchAuditEntries } from '../audit/access';
import { compareWithHistory, entriesFromHistories } from '../audit/rebuild';
import { verifyEntries } from '../audit/store';
import { connectClient } from '../client/connect';
import { loadConfig } from '../config';
import { canonicalJson } from '../digest';
import { governorStatus, setKillSwitch } from '../client/governor';
import { submitAlert } from '../client/submitAlert';
import { findIdentity } from '../inventory';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan } from '../policy/plan';
import { decideUpdate, falsePositiveSignal, statusQuery } from '../../workflows/definitions';
import { ExitCode, UsageError } from './errors';
import { printJson, readJsonFile } from './io';

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

/** `audit list|export|verify|rebuild`: read the store where it can be read safely. */
export function audit(action: string, opts: { workflow?: string; identity?: string; since?: string; format?: string; fromHistory?: boolean }) {
  const filter = { workflowId: opts.workflow, identity: opts.identity, since: opts.since };
  const config = loadConfig();
  switch (action) {
    case 'list':
      return async () => {
        for (const e of await fetchAuditEntries(config, filter)) {
          process.stdout.write(`${[e.at, e.workflowId, e.seq, e.stage, e.event, e.actor, e.action ?? '', e.reason ?? ''].join('\t')}\n`);
        }
        return ExitCode.ok;
      };
    case 'export':
      if ((opts.format ?? 'jsonl') !== 'jsonl') throw new UsageError(`audit export: unknown format "${opts.format}" (jsonl)`);
      return async () => {
        for (const entry of await fetchAuditEntries(config, filter)) process.stdout.write(`${canonicalJson(entry)}\n`);
        return ExitCode.ok;
      };
    case 'verify':
      return async () => {
        const report = verifyEntries(await fetchAuditEntries(config, { workflowId: opts.workflow }));
        printJson(report);
        if (report.broken) console.error(`cordon: audit chain broken at ${report.broken.workflowId} seq ${report.broken.seq}`);
        return report.intact ? ExitCode.ok : ExitCode.failure;
      };
    case 'rebuild':
      if (!opts.fromHistory) throw new UsageError('audit rebuild needs --from-history');
      return async () => {
        const client = await connectClient(config);
        try {
          const rebuilt = await entriesFromHistories(client, opts.workflow);
          const report = compareWithHistory(await fetchAuditEntries(config, { workflowId: opts.workflow }), rebuilt);
          printJson(report);
          return report.matches ? ExitCode.ok : ExitCode.failure;
        } finally {
          await client.connection.close();
        }
      };
    default:
      throw new UsageError(`audit: unknown action "${action}" (list, export, verify, rebuild)`);
  }
}
