import type { Client } from '@temporalio/client';
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

// A payload as the history stores it, decoded by the codecs (decryption) in reverse order.
async function decoded(payload: Payload, codecs: readonly PayloadCodec[]): Promise<unknown> {
  let plain = payload;
  for (const codec of [...codecs].reverse()) [plain] = await codec.decode([plain]);
  return defaultPayloadConverter.fromPayload(plain);
}

/**
 * Every entry a history handed to a step to store, in order, once each: a step that failed
 * hands its entries on to the next one.
 */
export async function auditEntriesIn(
  history: temporal.api.history.v1.IHistory,
  codecs: readonly PayloadCodec[] = [],
): Promise<AuditEntry[]> {
  const seen = new Set<string>();
  const entries: AuditEntry[] = [];
  for (const event of history.events ?? []) {
    const payload = event.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
    if (!payload) continue;
    for (const entry of outboxOf(await decoded(payload as Payload, codecs)))
      if (!seen.has(keyOf(entry)) && seen.add(keyOf(entry))) entries.push(entry);
  }
  return entries;
}

/** Re-derives the audit entries of every containment run from Temporal's histories. */
export async function entriesFromHistories(client: Client, workflowId?: string): Promise<AuditEntry[]> {
  const query = `WorkflowType = 'containIdentity'${workflowId ? ` AND WorkflowId = '${workflowId.replaceAll("'", '')}'` : ''}`;
  const entries: AuditEntry[] = [];
  for await (const run of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    entries.push(...(await auditEntriesIn(history, client.options.loadedDataConverter.payloadCodecs)));
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
