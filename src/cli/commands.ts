import type { Client } from '@temporalio/client';
import { formatNamed, FORMAT_NAMES, type AlertFormat } from '../alerts/formats';
import type { Alert } from '../alerts/schema';
import { fetchAuditEntries } from '../audit/access';
import { compareWithHistory, entriesFromHistories } from '../audit/rebuild';
import { connectClient } from '../client/connect';
import { loadConfig } from '../config';
import { canonicalJson } from '../digest';
import { findIdentity, type Inventory } from '../inventory';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan } from '../policy/plan';
import { statusQuery } from '../../workflows/definitions';
import { verifyStoredAudit } from './auditVerify';
import { ExitCode, UsageError } from './errors';
import { readAlertBody } from '../intake/acceptAlert';
import { newToken } from '../intake/sources';
import { printJson, readInput } from './io';

/** Problems as the CLI prints them, one field a line. */
export const listProblems = (problems: { field: string; message: string }[]) =>
  problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');

/** The format `--format` names (undefined: detected); an unknown name is a usage error. */
export function formatOption(name: string | undefined): AlertFormat | undefined {
  const format = name === undefined ? undefined : formatNamed(name);
  if (name !== undefined && !format) throw new UsageError(`unknown format ${name}; use ${FORMAT_NAMES.join(', ')}`);
  return format;
}

/**
 * The alert in a file, read as the intake reads a body (`readAlertBody`), so a file behaves as if
 * posted; its principal resolved through `inventory`, when given.
 */
export const validAlert = (file: string, formatName?: string, inventory?: Inventory) =>
  alertFromBytes(readInput(file), file, formatName, inventory);

/** The alert these bytes hold, in any supported format; `label` names them in errors. */
export function alertFromBytes(raw: Buffer, label: string, formatName?: string, inventory?: Inventory): Alert {
  const reading = readAlertBody({ raw, format: formatOption(formatName), headers: {} }, inventory);
  if (reading.outcome === 'ignored') throw new UsageError(`${label} opens no containment: ${reading.reason}`);
  if (reading.outcome === 'refused')
    throw new UsageError(`${reading.error} in ${label}:\n${listProblems(reading.problems)}`);
  return reading.alert;
}

/** `plan ALERT.json [--format F]`: the plan the policy gives, without Temporal. */
export function planAlert(file: string, format: string | undefined, policyFile: string, inventoryFile: string) {
  const inventory = loadInventory(inventoryFile);
  const alert = validAlert(file, format, inventory);
  return plan(alert, findIdentity(inventory, alert.identity), loadPolicy(policyFile));
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

/** `audit list|export|verify|rebuild`: read the store where it can be read safely. */
export function audit(
  action: string,
  opts: {
    workflow?: string;
    identity?: string;
    since?: string;
    format?: string;
    fromHistory?: boolean;
    publicKey?: string;
    checkpoints?: string;
  },
) {
  const filter = { workflowId: opts.workflow, identity: opts.identity, since: opts.since };
  const config = loadConfig();
  switch (action) {
    case 'list':
      return async () => {
        for (const e of await fetchAuditEntries(config, filter)) {
          process.stdout.write(
            `${[e.at, e.workflowId, e.seq, e.stage, e.event, e.actor, e.action ?? '', e.reason ?? ''].join('\t')}\n`,
          );
        }
        return ExitCode.ok;
      };
    case 'export':
      if ((opts.format ?? 'jsonl') !== 'jsonl')
        throw new UsageError(`audit export: unknown format "${opts.format}" (jsonl)`);
      return async () => {
        for (const entry of await fetchAuditEntries(config, filter)) process.stdout.write(`${canonicalJson(entry)}\n`);
        return ExitCode.ok;
      };
    case 'verify':
      return async () => {
        const verdict = await verifyStoredAudit(config, opts);
        printJson(verdict);
        for (const problem of verdict.problems) console.error(`cordon: audit: ${problem}`);
        return verdict.intact ? ExitCode.ok : ExitCode.failure;
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

/** A new bearer token, shown once, and the file entry that admits it (sources or approvers). */
export function tokenEntry(name: string, { whose, keep, file }: { whose: string; keep: string; file: string }): string {
  const { token, hash } = newToken();
  return [
    `# Bearer token for ${whose} (shown once; ${keep}):`,
    `#   ${token}`,
    `# Add this to the ${file}:`,
    `  - name: ${name}`,
    `    tokens: ["${hash}"]`,
    '',
  ].join('\n');
}

/** `source token NAME`. */
export const sourceToken = (name: string) =>
  tokenEntry(name, {
    whose: `source "${name}"`,
    keep: "store it in the forwarder's secret store",
    file: 'sources file (CORDON_SOURCES_FILE)',
  });
