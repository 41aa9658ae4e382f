import type { Policy } from '../src/policy/schema';
import type { AuditEvent } from './auditTrail';

/** What one case takes in when the policy says nothing (policy `caseLimits`). */
export const DEFAULT_CASE_LIMITS = { alertsPerMinute: 60, alertBytes: 256 * 1024 } as const;
const WINDOW_MS = 60_000;
// A report names some shed alert ids for the forensics, never a history-sized list.
const IDS_PER_REPORT = 10;

/** Why an alert was shed: over the per-minute rate, or over the bytes a case keeps. */
export type ShedReason = 'rate' | 'bytes';
/** Alerts shed so far, by reason (shown in status, carried across continue-as-new). */
export type ShedTotals = Record<ShedReason, number>;

/** What a continued run needs to go on counting. */
export interface AlertLimitsState {
  /** When the deliveries of the last minute arrived (epoch ms). */
  recent: number[];
  shed: ShedTotals;
}

/**
 * Bounds what one case takes in: deliveries per minute (sliding window, every delivery counts,
 * duplicates and invalid ones too, since each is audited) and bytes of alert records kept. What
 * is over is shed: counted, and reported in one audit entry per delivery of the case's outbox.
 */
export class AlertLimits {
  private limits: { alertsPerMinute: number; alertBytes: number } = { ...DEFAULT_CASE_LIMITS };
  private recent: number[];
  private readonly totals: ShedTotals;
  private unreported: ShedTotals = { rate: 0, bytes: 0 };
  private unreportedIds: string[] = [];

  constructor(
    carried: AlertLimitsState | undefined,
    /** Bytes of the records the case already keeps. */
    private keptBytes: number,
  ) {
    this.recent = [...(carried?.recent ?? [])];
    this.totals = { rate: 0, bytes: 0, ...carried?.shed };
  }

  /** Applies the policy's limits (known once the case has its context). */
  use(limits: Policy['caseLimits']): void {
    this.limits = { ...DEFAULT_CASE_LIMITS, ...limits };
  }

  /** Counts one delivery against the rate: false when it is over the rate and must be shed. */
  admit(now: number): boolean {
    this.recent = this.recent.filter((at) => at > now - WINDOW_MS);
    if (this.recent.length >= this.limits.alertsPerMinute) return false;
    this.recent.push(now);
    return true;
  }

  /** Keeps a record of `bytes` if the budget allows; false when it does not (the alert is shed). */
  keep(bytes: number): boolean {
    if (this.keptBytes + bytes > this.limits.alertBytes) return false;
    this.keptBytes += bytes;
    return true;
  }

  /** Counts a shed alert, for the next report. */
  shed(reason: ShedReason, alertId: string | undefined): void {
    this.totals[reason] += 1;
    this.unreported[reason] += 1;
    if (alertId !== undefined && this.unreportedIds.length < IDS_PER_REPORT) this.unreportedIds.push(alertId);
  }

  /** Alerts shed since the last report. */
  hasUnreported(): boolean {
    return this.unreported.rate + this.unreported.bytes > 0;
  }

  /** The audit entry for the alerts shed since the last report, once; undefined when none were. */
  takeReport(stage: string): AuditEvent | undefined {
    if (!this.hasUnreported()) return undefined;
    const { rate, bytes } = this.unreported;
    const why = [
      rate && `${rate} over ${this.limits.alertsPerMinute} alerts a minute`,
      bytes && `${bytes} over the ${this.limits.alertBytes} bytes of alert records the case keeps`,
    ].filter(Boolean);
    const event: AuditEvent = {
      stage,
      event: 'alerts.shed',
      actor: 'cordon',
      reason: `${rate + bytes} alert(s) shed: ${why.join('; ')}`,
      result: { shed: { ...this.unreported }, totals: { ...this.totals }, limits: { ...this.limits } },
      alertIds: this.unreportedIds,
    };
    this.unreported = { rate: 0, bytes: 0 };
    this.unreportedIds = [];
    return event;
  }

  /** Alerts shed over the case's life, by reason. */
  shedTotals(): ShedTotals {
    return { ...this.totals };
  }

  /** The state a continued run counts on from. */
  state(): AlertLimitsState {
    return { recent: [...this.recent], shed: this.shedTotals() };
  }
}
