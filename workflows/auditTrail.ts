import { workflowInfo } from '@temporalio/workflow';
import { GENESIS_HASH, hashEntry, type AuditEntry } from '../src/domain/auditEntry';

/** What a caller says about an event; the trail adds identity, sequence and chain. */
export type AuditEvent = Pick<AuditEntry, 'stage' | 'event' | 'actor'> &
  Partial<
    Pick<AuditEntry, 'reason' | 'action' | 'result' | 'alertIds' | 'evidence' | 'compensationRef' | 'frameworks'>
  >;

/** Where a chain continues from (carried across continue-as-new). */
export interface AuditCursor {
  seq: number;
  lastHash: string;
}

/**
 * The workflow's audit chain. Entries are built from workflow state only (deterministic time,
 * ids and inputs), so replaying the history rebuilds the identical chain. Entries not yet
 * stored travel with the case's next step, which stores them idempotently.
 */
export class AuditTrail {
  readonly entries: AuditEntry[] = [];
  private unsaved: AuditEntry[] = [];
  policy: { version?: string; digest?: string } = {};

  constructor(
    private readonly identity: string,
    private cursor: AuditCursor = { seq: 0, lastHash: GENESIS_HASH },
    /** A shadow case marks every entry, so no reader can take a dry run for real containment. */
    private readonly shadow = false,
    /** Entries an earlier run recorded but did not store: this run's next step stores them. */
    carriedUnstored: AuditEntry[] = [],
  ) {
    this.unsaved = [...carriedUnstored];
  }

  /** Appends one event to the chain and returns the entry. */
  record(event: AuditEvent): AuditEntry {
    const { workflowId, runId, firstExecutionRunId } = workflowInfo();
    const body = {
      workflowId,
      chain: firstExecutionRunId,
      runId,
      seq: this.cursor.seq + 1,
      at: new Date().toISOString(),
      identity: this.identity,
      policyVersion: this.policy.version,
      policyDigest: this.policy.digest,
      alertIds: [],
      evidence: [],
      frameworks: [],
      ...event,
      ...(this.shadow && { shadow: true as const }),
      prevHash: this.cursor.lastHash,
    };
    const entry = { ...body, hash: hashEntry(body) } as AuditEntry;
    this.cursor = { seq: entry.seq, lastHash: entry.hash };
    this.entries.push(entry);
    this.unsaved.push(entry);
    return entry;
  }

  /** The entries not stored yet, oldest first. */
  unstored(): AuditEntry[] {
    return [...this.unsaved];
  }

  /** Forgets the given entries as unstored: a step reported them stored. */
  stored(entries: AuditEntry[]): void {
    const last = entries.at(-1)?.seq ?? 0;
    this.unsaved = this.unsaved.filter((e) => e.seq > last);
  }

  /** The position a continued run starts from. */
  position(): AuditCursor {
    return this.cursor;
  }
}
