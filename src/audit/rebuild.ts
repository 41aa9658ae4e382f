import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { canonicalJson } from '../digest';
import type { AuditEntry } from './entry';

/** Every entry a history handed to `recordAuditEntries`, in order. */
export function auditEntriesIn(history: temporal.api.history.v1.IHistory): AuditEntry[] {
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordAuditEntries')
    .flatMap((e) => defaultPayloadConverter.fromPayload<AuditEntry[]>(e.activityTaskScheduledEventAttributes!.input!.payloads![0] as Payload));
}

/** Re-derives the audit entries of every containment run from Temporal's histories. */
export async function entriesFromHistories(client: Client, workflowId?: string): Promise<AuditEntry[]> {
  const query = `WorkflowType = 'containIdentity'${workflowId ? ` AND WorkflowId = '${workflowId.replaceAll("'", "")}'` : ''}`;
  const entries: AuditEntry[] = [];
  for await (const run of client.workflow.list({ query })) {
    entries.push(...auditEntriesIn(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()));
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

const keyOf = (e: AuditEntry) => `${e.workflowId}#${e.runId}#${e.seq}`;

/**
 * Compares stored entries with rebuilt ones. Histories past Temporal's retention are gone, so
 * their entries show up in `notInHistory`: expected for old cases, suspicious for recent ones.
 */
export function compareWithHistory(stored: AuditEntry[], rebuilt: AuditEntry[]): RebuildReport {
  const storedByKey = new Map(stored.map((e) => [keyOf(e), e]));
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
