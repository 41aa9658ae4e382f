// Where `cordon policy diff` gets the alerts it plans under both policies: a folder of alert files,
// the cases in the audit store, or the cases whose Temporal histories a visibility query matches.
// A case replays as it ran: its alerts in the order it received them, each once.
//
// The audit store records which alerts each case received and in what order (`alert.received`:
// the alert id, the forwarder, an evidence fingerprint), but not the kind, severity or confidence
// a plan is made from. Those are read from the case's own history: the alert exactly as the case
// received it (start input or `alert` signal). A case whose history is gone is reported, never
// guessed at.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { AlertSchema, type Alert } from '../alerts/schema';
import { fetchAuditEntries } from '../audit/access';
import { auditEntriesOfEvent, decodePayload, historyPages, type HistoryEvent } from '../audit/rebuild';
import { connectClient } from '../client/connect';
import type { Config } from '../config';
import { alertSignal } from '../../workflows/definitions';
import { validAlert } from './alertFile';
import { UsageError } from './errors';

/** Alerts planned as one case: one alert file, or a case's alerts in the order it received them. */
export interface ReplayCase {
  origin: { file: string } | { workflowId: string };
  alerts: Alert[];
}

/** A case the store or a query names that cannot be replayed, and why. */
export interface SkippedCase {
  workflowId: string;
  reason: string;
}

/** What a source hands `policy diff`. */
export interface CaseSet {
  cases: ReplayCase[];
  skipped: SkippedCase[];
}

/** Which alerts `policy diff` plans: exactly one source. */
export type DiffSource = { alerts: string } | { audit: { since?: string } } | { history: string };

const CASE_WORKFLOW_TYPE = 'containIdentity';
// gRPC status codes: a run past retention (or never there), and a query the server cannot parse.
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The alerts of a folder's `*.json` files (or one file), in name order, as `plan` reads them. */
export function loadAlerts(dirOrFile: string): { file: string; alert: Alert }[] {
  let files: string[];
  try {
    files = statSync(dirOrFile).isDirectory()
      ? readdirSync(dirOrFile)
          .filter((name) => name.endsWith('.json'))
          .sort()
          .map((name) => path.join(dirOrFile, name))
      : [dirOrFile];
  } catch (err) {
    throw new UsageError(`cannot read ${dirOrFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (files.length === 0) throw new UsageError(`no alert .json files in ${dirOrFile}`);
  return files.map((file) => ({ file, alert: validAlert(file) }));
}

/** Each alert file as a case of its own. */
export function casesFromFolder(dirOrFile: string): CaseSet {
  return {
    cases: loadAlerts(dirOrFile).map(({ file, alert }) => ({ origin: { file }, alerts: [alert] })),
    skipped: [],
  };
}

// What a replay reads of an `alert.received` entry: the case, the order, the alert and for whom.
const ReceivedEntry = z.object({
  workflowId: z.string(),
  chain: z.string(),
  seq: z.number().int(),
  at: z.iso.datetime({ offset: true }),
  identity: z.string(),
  alertIds: z.array(z.string()).length(1),
  shadow: z.literal(true).optional(),
});
type Received = z.infer<typeof ReceivedEntry>;

// Each case's received alerts, by chain (a closed case's workflow id can be used again), in the
// order it received them, each alert id once.
function receivedByCase(entries: readonly { event?: unknown }[]): Received[][] {
  const received = entries.filter((e) => e.event === 'alert.received').map((e) => ReceivedEntry.parse(e));
  received.sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.chain.localeCompare(b.chain) || a.seq - b.seq);
  const cases = new Map<string, Received[]>();
  for (const entry of received) {
    const key = `${entry.workflowId}#${entry.chain}`;
    const list = cases.get(key) ?? [];
    if (!list.some((e) => e.alertIds[0] === entry.alertIds[0])) cases.set(key, [...list, entry]);
  }
  return [...cases.values()];
}

/** What a case's runs hold: the alerts delivered to it, and the audit entries its steps carried. */
interface CaseHistory {
  alerts: Alert[];
  entries: { event?: unknown }[];
}

// A delivered alert, as the case checked it: an invalid one was refused, never planned. Plans
// read neither evidence nor summary, so neither is kept.
function keepAlert(value: unknown, into: CaseHistory): void {
  const parsed = AlertSchema.safeParse(value);
  if (parsed.success) into.alerts.push({ ...parsed.data, evidence: undefined, summary: undefined });
}

// Takes what one event holds into `into`; returns the run the case continued as, if it did.
async function takeEvent(event: HistoryEvent, codecs: readonly PayloadCodec[], into: CaseHistory) {
  const started = event.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (started)
    keepAlert(((await decodePayload(started as Payload, codecs)) as { alert?: unknown } | null)?.alert, into);
  const signaled = event.workflowExecutionSignaledEventAttributes;
  const signal = signaled?.signalName === alertSignal.name ? signaled.input?.payloads?.[0] : undefined;
  if (signal) keepAlert(await decodePayload(signal as Payload, codecs), into);
  into.entries.push(...(await auditEntriesOfEvent(event, codecs)));
  return event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
}

// The gRPC error with status `code`, raised as is (raw service calls) or as the cause of the
// client's ServiceError (whose own message says only what failed, not why).
function grpcError(err: unknown, code: number) {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause)
    if (isGrpcServiceError(e)) return e.code === code ? e : undefined;
  return undefined;
}

/** Every run of one case, from its first (whose run id names the chain) through continue-as-new. */
async function readCase(client: Client, workflowId: string, chain: string): Promise<CaseHistory | SkippedCase> {
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  const found: CaseHistory = { alerts: [], entries: [] };
  for (let runId: string | undefined = chain; runId;) {
    let next: string | undefined;
    try {
      for await (const events of historyPages(client, workflowId, runId))
        for (const event of events) next = (await takeEvent(event, codecs, found)) ?? next;
    } catch (err) {
      if (!grpcError(err, NOT_FOUND)) throw err;
      return { workflowId, reason: `the history of run ${runId} is gone (past the namespace's retention?)` };
    }
    runId = next;
  }
  return found;
}

// The case's alerts in the order it received them, each as its history delivered it.
function replayCase(received: Received[], history: CaseHistory): ReplayCase | SkippedCase {
  const { workflowId } = received[0];
  const alerts: Alert[] = [];
  for (const entry of received) {
    const alert = history.alerts.find(
      (a) =>
        a.id === entry.alertIds[0] &&
        `${a.identity.provider}:${a.identity.id}` === entry.identity &&
        (a.shadow === true) === (entry.shadow === true),
    );
    if (!alert)
      return {
        workflowId,
        reason: `alert ${entry.alertIds[0]} is audited, but no valid delivery of it is in the history`,
      };
    alerts.push(alert);
  }
  return { origin: { workflowId }, alerts };
}

// Files a replayed case, or the reason it could not be.
function file(set: CaseSet, replayed: ReplayCase | SkippedCase): void {
  if ('reason' in replayed) set.skipped.push(replayed);
  else set.cases.push(replayed);
}

/**
 * The cases in the audit store (that received an alert at or after `since`, when given), each
 * replayed from its first alert: their alerts from their histories, as the module header says.
 */
export async function casesFromAudit(config: Config, client: Client, since?: string): Promise<CaseSet> {
  const cases = receivedByCase(await fetchAuditEntries(config, {})).filter(
    (received) => since === undefined || received.some((e) => Date.parse(e.at) >= Date.parse(since)),
  );
  if (!cases.length)
    throw new UsageError(`no case in the audit store received an alert${since ? ` since ${since}` : ''}`);
  const set: CaseSet = { cases: [], skipped: [] };
  for (const received of cases) {
    const history = await readCase(client, received[0].workflowId, received[0].chain);
    file(set, 'reason' in history ? history : replayCase(received, history));
  }
  return set;
}

// The case a run belongs to: its workflow type and its chain (the first run of the execution).
async function caseOf(client: Client, workflowId: string, runId: string) {
  for await (const events of historyPages(client, workflowId, runId)) {
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    return { type: started?.workflowType?.name, chain: started?.firstExecutionRunId ?? runId };
  }
  return { type: undefined, chain: runId };
}

// Each containment case a run of which the query matches, once; other workflow types are no case.
async function matchingCases(
  client: Client,
  query: string,
): Promise<Map<string, { workflowId: string; chain: string }>> {
  const cases = new Map<string, { workflowId: string; chain: string }>();
  try {
    for await (const { workflowId, runId } of client.workflow.list({ query })) {
      const { type, chain } = await caseOf(client, workflowId, runId);
      if (type === CASE_WORKFLOW_TYPE) cases.set(`${workflowId}#${chain}`, { workflowId, chain });
    }
  } catch (err) {
    const invalid = grpcError(err, INVALID_ARGUMENT);
    if (invalid) throw new UsageError(`invalid visibility query ${query}: ${invalid.details}`);
    throw err;
  }
  if (!cases.size) throw new UsageError(`no containment case matches ${query}`);
  return cases;
}

/**
 * The containment cases whose runs a visibility query matches, each replayed whole (every run)
 * from what its history holds: the alerts it received, and the audit entries that say which
 * ones it accepted, in what order (an alert it refused or shed is not replayed).
 */
export async function casesFromHistory(client: Client, query: string): Promise<CaseSet> {
  const set: CaseSet = { cases: [], skipped: [] };
  for (const { workflowId, chain } of (await matchingCases(client, query)).values()) {
    const history = await readCase(client, workflowId, chain);
    if ('reason' in history) {
      file(set, history);
      continue;
    }
    const [received] = receivedByCase(history.entries);
    file(
      set,
      received
        ? replayCase(received, history)
        : { workflowId, reason: 'no alert.received entry in its history yet (the case stores it with its next step)' },
    );
  }
  return set;
}

/** Reads the alerts of a source: `--from-audit` reads the store and Temporal, `--from-history` Temporal. */
export async function readCases(source: DiffSource, config: Config): Promise<CaseSet> {
  if ('alerts' in source) return casesFromFolder(source.alerts);
  const client = await connectClient(config);
  try {
    return 'audit' in source
      ? await casesFromAudit(config, client, source.audit.since)
      : await casesFromHistory(client, source.history);
  } finally {
    await client.connection.close();
  }
}
