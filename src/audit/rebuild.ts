import type { Client } from '@temporalio/client';
import { isOversizeAnswer } from '../client/connect';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { canonicalJson } from '../digest';
import { KILL_SWITCH_CHAIN } from '../killSwitch/store';
import type { AuditEntry } from './entry';

const keyOf = (e: AuditEntry) => `${e.workflowId}#${e.runId}#${e.seq}`;

// The outbox a step carried: the step's input, or the `outbox` field of it.
function outboxOf(input: unknown): AuditEntry[] {
  const value = input as { audit?: unknown; outbox?: { audit?: unknown } } | null;
  const audit = value?.outbox?.audit ?? value?.audit;
  return Array.isArray(audit) ? (audit as AuditEntry[]) : [];
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

// Events per history page: a page of small events is one round trip; after an answer over the
// gRPC message limit the page shrinks (down to one event, which Temporal keeps under 2 MB).
const MAX_PAGE_EVENTS = 256;

/** A payload of a history as its sender wrote it: decrypted by the codecs (last applied, first undone). */
export async function decodePayload(payload: Payload, codecs: readonly PayloadCodec[]): Promise<unknown> {
  let plain = payload;
  for (const codec of [...codecs].reverse()) [plain] = await codec.decode([plain]);
  return defaultPayloadConverter.fromPayload(plain);
}

/** The entries one step was handed to store (none when the event schedules no step). */
export async function auditEntriesOfEvent(event: HistoryEvent, codecs: readonly PayloadCodec[]): Promise<AuditEntry[]> {
  const payload = event.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
  return payload ? outboxOf(await decodePayload(payload as Payload, codecs)) : [];
}

// Appends to `into` the entries of `events` not seen yet in this history.
async function collect(events: HistoryEvent[], codecs: readonly PayloadCodec[], seen: Set<string>, into: AuditEntry[]) {
  for (const event of events)
    for (const entry of await auditEntriesOfEvent(event, codecs))
      if (!seen.has(keyOf(entry)) && seen.add(keyOf(entry))) into.push(entry);
}

/**
 * Every entry a history handed to a step to store, in order, once each: a step that failed
 * hands its entries on to the next one (and a run hands those it could not store to the next run).
 */
export async function auditEntriesIn(
  history: temporal.api.history.v1.IHistory,
  codecs: readonly PayloadCodec[] = [],
): Promise<AuditEntry[]> {
  const seen = new Set<string>();
  const entries: AuditEntry[] = [];
  await collect(history.events ?? [], codecs, seen, entries);
  return entries;
}

/** One run's history, a page at a time: never one answer the size of the whole history. */
export async function* historyPages(client: Client, workflowId: string, runId: string): AsyncGenerator<HistoryEvent[]> {
  let nextPageToken: Uint8Array | undefined;
  let pageSize = MAX_PAGE_EVENTS;
  let ceiling = MAX_PAGE_EVENTS; // pages this large or larger came back oversize
  for (;;) {
    let page: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse;
    try {
      page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId },
        maximumPageSize: pageSize,
        nextPageToken,
      });
    } catch (err) {
      if (!isOversizeAnswer(err) || pageSize === 1) throw err;
      ceiling = pageSize - 1;
      pageSize = Math.max(1, Math.floor(pageSize / 16));
      continue;
    }
    yield page.history?.events ?? [];
    if (!page.nextPageToken?.length) return;
    nextPageToken = page.nextPageToken;
    pageSize = Math.min(ceiling, pageSize * 2);
  }
}

/** Re-derives the audit entries of every containment run from Temporal's histories, page by page. */
export async function entriesFromHistories(client: Client, workflowId?: string): Promise<AuditEntry[]> {
  const query = `WorkflowType = 'containIdentity'${workflowId ? ` AND WorkflowId = '${workflowId.replaceAll("'", '')}'` : ''}`;
  const entries: AuditEntry[] = [];
  for await (const run of client.workflow.list({ query })) {
    const seen = new Set<string>();
    for await (const events of historyPages(client, run.workflowId, run.runId))
      await collect(events, client.options.loadedDataConverter.payloadCodecs, seen, entries);
  }
  return entries;
}

/** How a store differs from what the histories say, by `workflowId#runId#seq`. */
export interface RebuildReport {
  matches: boolean;
  compared: number;
  missingFromStore: string[];
  notInHistory: string[];
  different: string[];
}

/**
 * Compares stored entries with rebuilt ones. Histories past Temporal's retention are gone, so
 * their entries show up in `notInHistory`: expected for old cases, suspicious for recent ones.
 */
export function compareWithHistory(stored: AuditEntry[], rebuilt: AuditEntry[]): RebuildReport {
  // The kill switch's chain is written by whoever moves it, not by a workflow: no history has it.
  const storedByKey = new Map(stored.filter((e) => e.workflowId !== KILL_SWITCH_CHAIN).map((e) => [keyOf(e), e]));
  const rebuiltByKey = new Map(rebuilt.map((e) => [keyOf(e), e]));
  const missingFromStore = [...rebuiltByKey.keys()].filter((k) => !storedByKey.has(k));
  const notInHistory = [...storedByKey.keys()].filter((k) => !rebuiltByKey.has(k));
  const different = [...rebuiltByKey.keys()].filter(
    (k) => storedByKey.has(k) && canonicalJson(storedByKey.get(k)) !== canonicalJson(rebuiltByKey.get(k)),
  );
  return {
    matches: missingFromStore.length + notInHistory.length + different.length === 0,
    compared: rebuiltByKey.size,
    missingFromStore,
    notInHistory,
    different,
  };
}
