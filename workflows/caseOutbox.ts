import { condition, sleep, workflowInfo } from '@temporalio/workflow';
import type { IdentityRef } from '../src/domain/alert';
import type { Notice, NotificationKind, Outbox, OutboxReceipt } from '../src/domain/case';
import type { AuditTrail } from './auditTrail';
import { outbox as delivery } from './steps';

// A store that cannot be written is tried again after this; nothing is dropped meanwhile.
const STORE_RETRY = '1 minute';
// How long a waiting case gathers news (alerts, decisions) before it stores them in one delivery.
const NEWS_GATHERING_MS = 1_000;

/**
 * What a case queued for the store (audit entries not stored yet) and for the approvers
 * (notices). Every step activity delivers it; on its own it is delivered only before a wait and
 * before the case closes.
 */
export class CaseOutbox {
  private notices: Notice[] = [];
  private sent = 0;

  constructor(
    private readonly audit: AuditTrail,
    private readonly identity: IdentityRef,
    private readonly shadow: boolean,
  ) {}

  /** Queues a notification. */
  notify(kind: NotificationKind, about: Pick<Notice, 'stage' | 'outcome' | 'request' | 'reason'>): void {
    const { workflowId, runId } = workflowInfo();
    this.sent += 1;
    const id = `${runId}/${this.sent}`;
    this.notices.push({
      id,
      kind,
      workflowId,
      runId,
      identity: this.identity,
      ...about,
      ...(this.shadow && { shadow: true as const }),
    });
  }

  /** What the next step delivers: every unstored entry and queued notice. */
  take(): Outbox {
    const notices = this.notices;
    this.notices = [];
    return { audit: this.audit.unstored(), notices };
  }

  /** Takes a step's receipt: stored entries are forgotten, each notice's delivery is audited. */
  settle(sent: Outbox, receipt: OutboxReceipt, stage: string): void {
    if (receipt.stored) this.audit.stored(sent.audit);
    for (const { kind, error } of receipt.notices) {
      if (error) this.audit.record({ stage, event: 'notify.failed', actor: 'cordon', reason: `${kind}: ${error}` });
      else this.audit.record({ stage, event: `notified.${kind}`, actor: 'cordon', frameworks: ['NIST CSF RS.CO-02'] });
    }
  }

  /** Takes back an outbox whose step failed before it delivered: its notices go with the next. */
  putBack(outbox: Outbox): void {
    this.notices.unshift(...outbox.notices);
  }

  /** Whether anything waits to be stored or sent. */
  hasUnsent(): boolean {
    return this.notices.length > 0 || this.audit.unstored().length > 0;
  }

  /**
   * Delivers everything queued, and the receipts that delivery adds, before a wait or the close.
   * A store outage delays the delivery, never drops it.
   */
  async flush(stage: () => string): Promise<void> {
    while (this.hasUnsent()) {
      const sent = this.take();
      try {
        this.settle(sent, await delivery.deliverOutbox(sent), stage());
      } catch {
        this.putBack(sent);
        await sleep(STORE_RETRY);
      }
    }
  }

  /**
   * Waits like `condition`, storing what the case records meanwhile (decisions, alerts, rejected
   * inputs) soon after it appears: a case may wait for days, and its audit must not. What
   * arrives within a second of the first news goes in the same delivery, so a burst of alerts
   * costs a few deliveries, not one each.
   */
  async waitFor(done: () => boolean, timeoutMs: number | undefined, stage: () => string): Promise<boolean> {
    const until = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const left = () => (until === undefined ? undefined : Math.max(0, until - Date.now()));
    const waitUntil = (ready: () => boolean, ms?: number) =>
      ms === undefined ? condition(ready) : condition(ready, ms);
    if (!done()) await this.flush(stage);
    for (;;) {
      const woke = await waitUntil(() => done() || this.hasUnsent(), left());
      if (done()) return true;
      if (!woke) return false;
      if (await waitUntil(done, Math.min(NEWS_GATHERING_MS, left() ?? NEWS_GATHERING_MS))) return true;
      await this.flush(stage);
    }
  }
}
