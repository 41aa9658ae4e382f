// `cordon audit`: lists, exports and verifies the audit store, and compares it with Temporal's histories.
import { fetchAuditEntries } from '../audit/access';
import { compareWithHistory, entriesFromHistories } from '../audit/rebuild';
import { connectClient } from '../client/connect';
import { loadConfig } from '../config';
import { canonicalJson } from '../digest';
import { verifyStoredAudit } from './auditVerify';
import { ExitCode, UsageError } from './errors';
import { printJson } from './io';

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
