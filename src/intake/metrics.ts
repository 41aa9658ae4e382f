import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AttentionCategory } from '../domain/attention';
import type { Logger } from '../log';
import type { WarningCode } from './warnings';

// How long a scrape waits for Temporal's count of cases needing attention.
const ATTENTION_TIMEOUT_MS = 2_000;

/** Why the intake refused an alert: the `reason` label of `cordon_alerts_rejected_total`. */
export type RejectReason =
  | 'bad_request'
  | 'unauthenticated'
  | 'format_not_allowed'
  | 'rate_limited'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'invalid_encoding'
  | 'invalid_json'
  | 'unknown_format'
  | 'invalid_alert'
  | 'unusable_alert'
  | 'replayed'
  | 'temporal_unavailable'
  | 'refused_by_temporal'
  | 'handover_failed'
  | 'evidence_store_unavailable';

/** The intake's Prometheus metrics, plus the worker's Temporal metrics when it runs here. */
export class IntakeMetrics {
  readonly registry = new Registry();
  private readonly received = new Counter({
    name: 'cordon_alerts_received_total',
    help: 'Alert requests received, by format (unknown until the body is read)',
    labelNames: ['format'],
    registers: [this.registry],
  });
  private readonly accepted = new Counter({
    name: 'cordon_alerts_accepted_total',
    help: 'Alerts handed to Temporal, by format and what the workflow made of them',
    labelNames: ['format', 'disposition'],
    registers: [this.registry],
  });
  private readonly ignored = new Counter({
    name: 'cordon_alerts_ignored_total',
    help: 'Well-formed events that open no containment (GitHub pings, resolved alerts)',
    labelNames: ['format'],
    registers: [this.registry],
  });
  private readonly rejected = new Counter({
    name: 'cordon_alerts_rejected_total',
    help: 'Alert requests refused, by format and reason',
    labelNames: ['format', 'reason'],
    registers: [this.registry],
  });

  private readonly warnings = new Counter({
    name: 'cordon_alert_warnings_total',
    help: 'Alerts accepted with a warning, by its code (unresolved-identity, no-connector, not-in-inventory)',
    labelNames: ['code'],
    registers: [this.registry],
  });

  private readonly attention = new Gauge({
    name: 'cordon_cases_needing_attention',
    help: 'Open cases that need a human, by reason category (absent when Temporal could not be asked)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  /**
   * @param workerMetricsUrl where the Temporal runtime serves the worker's metrics (its
   * Prometheus exporter on loopback); appended to `/metrics` so one scrape sees both.
   * @param countAttention counts the open cases needing attention by category (Temporal's
   * visibility); without it the gauge is left out.
   */
  constructor(
    private readonly workerMetricsUrl?: string,
    private readonly logger?: Logger,
    private readonly countAttention?: (deadline: AbortSignal) => Promise<Map<AttentionCategory, number>>,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cordon_' });
  }

  receivedAlert(format: string) {
    this.received.inc({ format });
  }
  acceptedAlert(format: string, disposition: string) {
    this.accepted.inc({ format, disposition });
  }
  ignoredAlert(format: string) {
    this.ignored.inc({ format });
  }
  rejectedAlert(format: string, reason: RejectReason) {
    this.rejected.inc({ format, reason });
  }
  warned(code: WarningCode) {
    this.warnings.inc({ code });
  }

  // A count Temporal did not give in time is left out, never shown stale or as zero.
  private async refreshAttention(): Promise<void> {
    if (!this.countAttention) return;
    this.attention.reset();
    const deadline = AbortSignal.timeout(ATTENTION_TIMEOUT_MS);
    const late = new Promise<never>((_, reject) =>
      deadline.addEventListener('abort', () => reject(new Error('visibility did not answer in time'))),
    );
    try {
      const counts = await Promise.race([this.countAttention(deadline), late]);
      for (const [reason, count] of counts) this.attention.set({ reason }, count);
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'cases needing attention not counted');
    }
  }

  /** Prometheus text: Cordon's own metrics, then the worker's. */
  async text(): Promise<string> {
    await this.refreshAttention();
    const own = await this.registry.metrics();
    if (!this.workerMetricsUrl) return own;
    try {
      const res = await fetch(this.workerMetricsUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return `${own}\n${await res.text()}`;
    } catch (err) {
      this.logger?.warn({ err, url: this.workerMetricsUrl }, 'worker metrics unavailable');
      return `${own}\n# worker metrics unavailable\n`;
    }
  }
}
