import type { Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { formatNamed, normalizeAlert, FORMAT_NAMES } from '../alerts/formats';
import { fetchAuditEntries } from '../audit/access';
import { compareWithHistory, entriesFromHistories } from '../audit/rebuild';
import { connectClient } from '../client/connect';
import { loadConfig } from '../config';
import { canonicalJson } from '../digest';
import { submitAlert } from '../client/submitAlert';
import { findIdentity, type Inventory } from '../inventory';
import { warningsFor } from '../intake/warnings';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan } from '../policy/plan';
import { statusQuery } from '../../workflows/definitions';
import { verifyStoredAudit } from './auditVerify';
import { ExitCode, UsageError } from './errors';
import { decodeJsonBody } from '../intake/body';
import { newToken } from '../intake/sources';
import { printJson, readInput } from './io';

const listProblems = (problems: { field: string; message: string }[]) =>
  problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');

// The same decoding and adapters as the HTTP intake, so a file behaves as it would if posted.
export function validAlert(file: string, formatName?: string, inventory?: Inventory) {
  return resolvedAlert(file, formatName, inventory).alert;
}

// The alert of a file and how its principal was resolved (through `inventory`, when given).
function resolvedAlert(file: string, formatName?: string, inventory?: Inventory) {
  const raw = readInput(file);
  const decoded = decodeJsonBody(raw);
  if (!decoded.ok) throw new UsageError(`${file} ${decoded.problem.message}`);
  return normalized(decoded.value, raw, file, formatName, inventory);
}

/** Normalizes a decoded alert of any supported format; `label` names it in errors. */
export function normalizedAlert(value: unknown, raw: Buffer, label: string, formatName?: string) {
  return normalized(value, raw, label, formatName).alert;
}

function normalized(value: unknown, raw: Buffer, label: string, formatName?: string, inventory?: Inventory) {
  const format = formatName === undefined ? undefined : formatNamed(formatName);
  if (formatName !== undefined && !format)
    throw new UsageError(`unknown format ${formatName}; use ${FORMAT_NAMES.join(', ')}`);
  const rawDigest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  const result = normalizeAlert(value, { headers: {}, rawDigest, inventory }, format);
  if (result.outcome === 'ignored') throw new UsageError(`${label} opens no containment: ${result.reason}`);
  if (result.outcome !== 'alert') {
    throw new UsageError(`${result.outcome} ${result.format} alert in ${label}:\n${listProblems(result.problems)}`);
  }
  return result;
}

/**
 * `alert send FILE [--format F] [--shadow]`: normalize and validate locally, then start or join
 * the containment; `--shadow` sends it to the identity's dry-run case instead (never the reverse).
 */
export function sendAlert(file: string, format: string | undefined, searchAttributes: boolean, shadow = false) {
  const { alert: valid, resolution } = resolvedAlert(file, format, loadInventory(loadConfig().CORDON_INVENTORY_FILE));
  const alert = shadow ? { ...valid, shadow: true } : valid;
  // The CLI does not know the worker's connectors: it warns about the inventory only.
  const warnings = warningsFor(alert, resolution, { inventory: true });
  return async (client: Client, taskQueue: string) => ({
    ...(await submitAlert(client, taskQueue, alert, { searchAttributes })),
    ...(warnings.length && { warnings }),
  });
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
