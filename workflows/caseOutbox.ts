import { condition, sleep, workflowInfo } from '@temporalio/workflow';
import type { IdentityRef } from '../src/domain/alert';
import type { Notice, NotificationKind, Outbox, OutboxReceipt } from '../src/domain/case';
import type { AuditTrail } from './auditTrail';
import { outbox as delivery } from './steps';

// A store that cannot be written is tried again after this; nothing is dropped meanwhile.
const STORE_RETRY = '1 minute';
// How long a waiting case gathers news (alerts, decisions) before it stores them in one delivery.
const NEWS_GATHERING_MS = 1_000;
// A waiting case delivers its news and that delivery's receipts, then looks at its wait again.
const DELIVERIES_PER_WAKE = 2;
// A notice that failed goes again with the first delivery this long after it failed (a quiet
// case delivers it on its own then): never at once, or each failure's audit entry would set off
// the next attempt.
const NOTICE_RETRY_MS = 60_000;
const NOTICE_ATTEMPTS = 5;

/** A notice not delivered yet (retried), or given up on after its attempts. */
export interface UndeliveredNotice {
  id: string;
  kind: NotificationKind;
  attempts: number;
  error: string;
  gaveUp: boolean;
}

/**
 * What a case queued for the store (audit entries not stored yet) and for the approvers
 * (notices). Every step activity delivers it; on its own it is delivered only before a wait and
 * before the case closes.
 */
export class CaseOutbox {
  private notices: Notice[] = [];
  private sent = 0;
  /** Notices that failed and are tried again, and those given up on (newest kept). */
  private retries: { notice: Notice; attempts: number; error: string; due: number }[] = [];
  private abandoned: UndeliveredNotice[] = [];

  constructor(
    private readonly audit: AuditTrail,
    private readonly identity: IdentityRef,
    private readonly shadow: boolean,
    /** Entries the case records only when something is delivered (summaries of counted events). */
    private readonly summaries: { pending(): boolean; record(): void },
    /** Notices an earlier run queued and did not send. */
    carriedNotices: Notice[] = [],
  ) {
    this.notices = [...carriedNotices];
  }

  /** Queues a notification. */
  notify(kind: NotificationKind, about: Pick<Notice, 'stage' | 'outcome' | 'request' | 'reason' | 'brief'>): void {
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

  /** What the next step delivers: every unstored entry, queued notice and notice due for a retry. */
  take(): Outbox {
    this.summaries.record();
    const due = this.retries.filter((r) => r.due <= Date.now());
    // New notices first: retries share the delivery's time budget and must not crowd them out.
    const notices = [...this.notices, ...due.map((r) => r.notice)];
    this.notices = [];
    return { audit: this.audit.unstored(), notices };
  }

  /** Takes a step's receipt: stored entries are forgotten, each notice's delivery is audited. */
  settle(sent: Outbox, receipt: OutboxReceipt, stage: string): void {
    if (receipt.stored) this.audit.stored(sent.audit);
    receipt.notices.forEach(({ kind, error, retryChannels }, i) => {
      const notice = sent.notices[i];
      const retry = this.retries.find((r) => r.notice.id === notice?.id);
      this.retries = this.retries.filter((r) => r !== retry);
      if (!error) {
        this.audit.record({ stage, event: `notified.${kind}`, actor: 'cordon', frameworks: ['NIST CSF RS.CO-02'] });
        return;
      }
      const attempts = (retry?.attempts ?? 0) + 1;
      const gaveUp = attempts >= NOTICE_ATTEMPTS || !notice || retryChannels?.length === 0;
      this.audit.record({
        stage,
        event: gaveUp ? 'notify.abandoned' : 'notify.failed',
        actor: 'cordon',
        reason: `${kind} (attempt ${attempts} of ${NOTICE_ATTEMPTS}): ${error}`,
      });
      // A retry goes only where the notice failed; the channels that took it are not sent it twice.
      const again = retryChannels ? { ...notice, channels: retryChannels } : notice;
      if (!gaveUp) this.retries.push({ notice: again, attempts, error, due: Date.now() + NOTICE_RETRY_MS });
      else this.abandoned = [...this.abandoned, { id: notice?.id ?? '?', kind, attempts, error, gaveUp }].slice(-20);
    });
  }

  /** Gives up the notices still to be retried (the run ends): each is audited, none vanishes unsaid. */
  giveUpRetries(stage: string): void {
    for (const { notice, attempts, error } of this.retries) {
      this.audit.record({
        stage,
        event: 'notify.abandoned',
        actor: 'cordon',
        reason: `${notice.kind} (after ${attempts} of ${NOTICE_ATTEMPTS} attempts, the run ended): ${error}`,
      });
    }
    this.retries = [];
  }

  /** Hands the queued notices to a continued run (retries are given up, and audited, first). */
  handOver(stage: string): Notice[] {
    this.giveUpRetries(stage);
    const queued = this.notices;
    this.notices = [];
    return queued;
  }

  /** Notices not delivered: being retried, or given up on. */
  undelivered(): UndeliveredNotice[] {
    const retrying = this.retries.map(({ notice, attempts, error }) => ({
      id: notice.id,
      kind: notice.kind,
      attempts,
      error,
      gaveUp: false,
    }));
    return [...this.abandoned, ...retrying];
  }

  /** Takes back an outbox whose step failed before it delivered: its notices go with the next. */
  putBack(outbox: Outbox): void {
    const retried = new Set(this.retries.map((r) => r.notice.id));
    this.notices.unshift(...outbox.notices.filter((n) => !retried.has(n.id)));
  }

  /** Whether anything waits to be stored or sent. */
  hasUnsent(): boolean {
    return this.notices.length > 0 || this.audit.unstored().length > 0 || this.summaries.pending();
  }

  // Sends the notices that failed once more (a quiet case has no step to carry them).
  private async retryNotices(stage: string): Promise<void> {
    const sent = this.take();
    try {
      this.settle(sent, await delivery.deliverOutbox(sent), stage);
    } catch {
      this.putBack(sent);
      for (const retry of this.retries) retry.due = Math.max(retry.due, Date.now() + NOTICE_RETRY_MS);
    }
  }

  /**
   * Delivers everything queued, and the receipts that delivery adds, before a wait or the close;
   * at most `maxDeliveries` times, so that input arriving faster than deliveries cannot hold the
   * case here. A store outage delays the delivery, never drops it.
   */
  async flush(stage: () => string, maxDeliveries = Infinity): Promise<void> {
    for (let delivered = 0; this.hasUnsent() && delivered < maxDeliveries;) {
      const sent = this.take();
      try {
        this.settle(sent, await delivery.deliverOutbox(sent), stage());
        delivered += 1;
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
    if (!done()) await this.flush(stage, DELIVERIES_PER_WAKE);
    for (;;) {
      const retryIn = this.retries.length
        ? Math.max(0, Math.min(...this.retries.map((r) => r.due)) - Date.now())
        : undefined;
      const rest = left();
      const wait = rest === undefined ? retryIn : retryIn === undefined ? rest : Math.min(rest, retryIn);
      const woke = await waitUntil(() => done() || this.hasUnsent(), wait);
      if (done()) return true;
      if (!woke && until !== undefined && Date.now() >= until) return false;
      if (!woke) {
        await this.retryNotices(stage());
        continue;
      }
      if (await waitUntil(done, Math.min(NEWS_GATHERING_MS, left() ?? NEWS_GATHERING_MS))) return true;
      await this.flush(stage, DELIVERIES_PER_WAKE);
    }
  }
}
