import type { Alert, IdentityRef } from '../src/domain/alert';
import { checkAlert } from '../src/domain/inputs';
import { canonicalJson } from '../src/digest';
import { evidenceFingerprint } from '../src/domain/evidence';
import { redactAlertFields } from '../src/secrets/redact';
import { AlertLimits, type AlertLimitsState, type ShedReason } from './alertLimits';
import type { AlertDelivery, ContainmentStatus, Disposition, RecordedAlert } from './definitions';

// Deliveries are remembered so intake can answer with a disposition; old ones are dropped.
const MAX_REMEMBERED_DELIVERIES = 1000;
// Refused inputs kept in status: enough to see what was refused, never a history-sized list.
export const MAX_REJECTED = 50;

/** What a continued run's ledger starts from, besides the alerts in status. */
export interface CarriedAlerts {
  limits: AlertLimitsState;
  /** Alerts received but not planned for yet (without evidence: plans never read it). */
  unplanned: Alert[];
}

/**
 * Every alert a containment has received: dedupes by alert id, records rejected inputs and
 * answers "what became of delivery X". Pure state; the workflow owns one.
 */
export class AlertLedger {
  private readonly deliveries = new Map<string, Disposition>();
  private fresh: Alert[];
  /** How much the case takes in (per minute, bytes kept), and what it shed. */
  readonly limits: AlertLimits;

  constructor(
    private readonly identity: IdentityRef,
    readonly alerts: RecordedAlert[] = [],
    readonly rejected: ContainmentStatus['rejectedInputs'] = [],
    /** The case is a dry run: it takes shadow alerts only, and a real case takes none. */
    private readonly shadow = false,
    carried?: CarriedAlerts,
  ) {
    this.fresh = [...(carried?.unplanned ?? [])];
    const kept = alerts.reduce((bytes, a) => bytes + recordBytes(a), 0);
    this.limits = new AlertLimits(carried?.limits, kept);
  }

  /**
   * Records one delivery and returns its disposition; new alerts queue for `takeNew`. A delivery
   * over the case's limits is shed: counted for the next `alerts.shed` audit entry, nothing else.
   */
  receive(input: unknown, delivery?: AlertDelivery): Disposition {
    const disposition = this.limits.admit(Date.now()) ? this.classify(input) : this.shed('rate', input);
    if (delivery?.deliveryId) {
      this.deliveries.set(delivery.deliveryId, disposition);
      if (this.deliveries.size > MAX_REMEMBERED_DELIVERIES) {
        this.deliveries.delete(this.deliveries.keys().next().value as string);
      }
    }
    return disposition;
  }

  /** The disposition of a delivery, or null when unknown. */
  dispositionOf(deliveryId: string): Disposition | null {
    return this.deliveries.get(deliveryId) ?? null;
  }

  /** True when alerts arrived that the workflow has not planned for yet. */
  hasNew(): boolean {
    return this.fresh.length > 0;
  }

  /** The alerts the plan was made from (received, and taken by `takeNew`). */
  planned(): RecordedAlert[] {
    const waiting = new Set(this.fresh.map((a) => a.id));
    return this.alerts.filter((a) => !waiting.has(a.id));
  }

  /** Alerts received since the last call, for the workflow to act on. */
  takeNew(): Alert[] {
    const taken = this.fresh;
    this.fresh = [];
    return taken;
  }

  /** The state a continued run's ledger starts from. */
  carry(): CarriedAlerts {
    return { limits: this.limits.state(), unplanned: [...this.fresh] };
  }

  private shed(reason: ShedReason, input: unknown): Disposition {
    const id = (input as { id?: unknown } | null)?.id;
    this.limits.shed(reason, typeof id === 'string' ? id.slice(0, 300) : undefined);
    return 'shed';
  }

  private reject(reason: string): Disposition {
    this.rejected.push({ reason });
    if (this.rejected.length > MAX_REJECTED) this.rejected.splice(0, this.rejected.length - MAX_REJECTED);
    return 'rejected';
  }

  private classify(input: unknown): Disposition {
    const checked = checkAlert(input);
    if (!checked.ok) {
      const fields = checked.problems.map((p) => p.field);
      return this.reject(`invalid alert: ${[...new Set(fields)].join(', ')}`);
    }
    const alert = checked.value;
    if (alert.identity.provider !== this.identity.provider || alert.identity.id !== this.identity.id)
      return this.reject(`alert ${alert.id} names another identity`);
    // A shadow alert must never trigger real containment, nor a real alert vanish into a dry run.
    if ((alert.shadow ?? false) !== this.shadow)
      return this.reject(
        `alert ${alert.id} ${this.shadow ? 'is not a shadow alert: it belongs to the real case' : 'is a shadow alert: it belongs to the shadow case'}`,
      );
    const known = this.alerts.find((a) => a.id === alert.id);
    if (known) {
      known.deliveries += 1;
      return 'duplicate';
    }
    // Alerts sent straight to Temporal skip the intake's redaction; what the case keeps is redacted here too.
    const kept = redactAlertFields(alert);
    const evidence = kept.evidence ? evidenceFingerprint(kept.evidence) : undefined;
    const { id, source, kind, severity, confidence, observedAt } = kept;
    const record: RecordedAlert = { id, source, kind, severity, confidence, observedAt, evidence, deliveries: 1 };
    if (!this.limits.keep(recordBytes(record))) return this.shed('bytes', alert);
    this.alerts.push(record);
    // Plans read the alert's facts, never its evidence or summary: only the record keeps a trace.
    this.fresh.push({ ...kept, evidence: undefined, summary: undefined });
    return this.alerts.length === 1 ? 'started' : 'merged';
  }
}

// What one record costs the case's byte budget: its JSON, as status and continue-as-new carry it.
const recordBytes = (record: RecordedAlert) => canonicalJson(record).length;
