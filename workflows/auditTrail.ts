import { workflowInfo } from '@temporalio/workflow';
import { GENESIS_HASH, SEAL_EVENT, hashEntry, type AuditEntry, type SealResult } from '../src/domain/auditEntry';
import { redactText } from '../src/secrets/redact';

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
  private sealed = false;
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

  /**
   * Appends one event to the chain and returns the entry. A sealed chain takes no more: input
   * that arrives while a closed case delivers its seal is never acted on, so it is not recorded.
   */
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
      // Whoever typed these may have pasted a credential; the chain is exported and kept for years.
      actor: redactText(event.actor),
      ...(event.reason !== undefined && { reason: redactText(event.reason) }),
      ...(this.shadow && { shadow: true as const }),
      prevHash: this.cursor.lastHash,
    };
    const entry = { ...body, hash: hashEntry(body) } as AuditEntry;
    if (this.sealed) return entry;
    this.cursor = { seq: entry.seq, lastHash: entry.hash };
    this.entries.push(entry);
    this.unsaved.push(entry);
    return entry;
  }

  /**
   * Closes the chain with an entry recording how many came before it and the last one's hash:
   * a verifier then knows the chain is complete, and that anything after it is forged.
   */
  seal(stage: string): AuditEntry {
    const result: SealResult = { entries: this.cursor.seq, head: this.cursor.lastHash };
    const entry = this.record({
      stage,
      event: SEAL_EVENT,
      actor: 'cordon',
      result: { ...result },
      frameworks: ['NIST CSF RS.AN-07'],
    });
    this.sealed = true;
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

/**
 * A closing case's last act: seals its chain and stores the seal. Called after the last delivery
 * (whose receipts are audited), so nothing follows the seal.
 */
export async function sealCase(c: { audit: AuditTrail; status: { stage: string }; flush(): Promise<void> }) {
  c.audit.seal(c.status.stage);
  await c.flush();
}
