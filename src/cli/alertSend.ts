// `cordon alert send FILE`: the intake's own pipeline (src/intake/acceptAlert.ts), never a copy.
// When a running service owns the embedded store (.cordon/service.json), the file goes to that
// service's intake: it is counted in the service's /metrics, its large evidence goes to the store
// the service holds, and the case gets the service's context, as for any forwarder. Otherwise (a
// stopped service, or PostgreSQL) this process runs the same pipeline itself; it
// serves no /metrics, so what it sends is counted only where every alert is, in the case's audit.
import pino from 'pino';
import { runningService } from '../audit/access';
import { connectClient } from '../client/connect';
import { loadConfig, type Config } from '../config';
import { openDatabase, type Database } from '../db';
import { EvidenceStore } from '../evidence/store';
import { acceptAlert, readDelivery, refused } from '../intake/acceptAlert';
import type { IntakeAnswer } from '../intake/answers';
import { bodyTooLarge } from '../intake/body';
import type { AlertDelivery } from '../intake/readAlert';
import { createLogger } from '../log';
import { loadInventory } from '../policy/load';
import { formatOption, listProblems } from './alertFile';
import { ExitCode, UsageError } from './errors';
import { printJson, readInputUpTo } from './io';

/** Sends the alert in `file` as the intake takes it; prints the intake's answer. Exit 2 for what the intake refuses. */
export async function sendAlert(file: string, opts: { format?: string; shadow?: boolean }): Promise<number> {
  const config = loadConfig();
  const format = formatOption(opts.format);
  const limit = config.CORDON_MAX_BODY_BYTES;
  const raw = readInputUpTo(file, limit);
  if (!raw)
    throw new UsageError(
      `${file}: ${bodyTooLarge(limit).message}, the largest alert Cordon takes (CORDON_MAX_BODY_BYTES); nothing was sent`,
    );
  const delivery: AlertDelivery = { raw, format, headers: {}, shadow: opts.shadow === true };
  const service = runningService(config);
  return reported(file, service ? await throughService(service, delivery) : await inThisProcess(config, delivery));
}

// The running service's intake, as a loopback forwarder (with CORDON_SOURCE_TOKEN where it has a sources file).
async function throughService(url: string, { raw, format, shadow }: AlertDelivery): Promise<IntakeAnswer> {
  const route = `${url}/v1/alerts${format ? `/${format.name}` : ''}${shadow ? '?shadow=true' : ''}`;
  const token = process.env.CORDON_SOURCE_TOKEN;
  let res: Response;
  try {
    res = await fetch(route, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: new Uint8Array(raw),
    });
  } catch (err) {
    throw new Error(`cannot reach the running service's intake at ${url}: ${(err as Error).message}`);
  }
  const body = (await res
    .json()
    .catch(() => ({ error: `the intake answered HTTP ${res.status}` }))) as IntakeAnswer['body'];
  return { status: res.status, body };
}

// The pipeline here: a refusal needs neither Temporal nor the store; the store is opened only for
// large evidence. The inventory is the worker's file; which connectors the worker has is not known here.
async function inThisProcess(config: Config, delivery: AlertDelivery): Promise<IntakeAnswer> {
  const log = createLogger('warn', pino.destination(2));
  const identities = { inventory: () => loadInventory(config.CORDON_INVENTORY_FILE) };
  const read = readDelivery(delivery, { identities, log });
  if (read.reading.outcome === 'refused') return refused(undefined, read.reading);
  let db: Promise<Database> | undefined;
  const store = () =>
    (db ??= openDatabase({
      url: config.DATABASE_URL,
      migrationUrl: config.CORDON_MIGRATION_DATABASE_URL,
      dataDir: config.CORDON_DATA_DIR,
    }));
  const client = await connectClient(config);
  try {
    return await acceptAlert(
      delivery,
      {
        client,
        taskQueue: config.CORDON_TASK_QUEUE,
        searchAttributes: config.CORDON_SEARCH_ATTRIBUTES,
        log,
        evidence: new EvidenceStore(store, config.CORDON_EVIDENCE_INLINE_BYTES),
        identities,
      },
      read,
    );
  } finally {
    await client.connection.close();
    await db?.then((opened) => opened.close()).catch(() => undefined);
  }
}

// Handed over or ignored: the answer on stdout. Shed (not acted on): the answer too, and exit 1 so
// a script resends it later. Refused: exit 2 naming the fields.
function reported(file: string, { status, body }: IntakeAnswer): number {
  if (status < 300 || 'disposition' in body) {
    printJson(body);
    if (status < 300) return ExitCode.ok;
    console.error(`cordon: ${file}: shed (HTTP ${status}): the case took no action on it; send it again later`);
    return ExitCode.failure;
  }
  const problems = Array.isArray(body.problems) ? `:\n${listProblems(body.problems)}` : '';
  const message = `${body.error} in ${file} (${status})${problems}`;
  // Bad input is the file's (or the caller's credentials'); a rate limit or an outage is not.
  if (status >= 400 && status < 500 && status !== 429) throw new UsageError(message);
  throw new Error(message);
}
