import type { Alert, IdentityRef } from '../src/domain/alert';
import { checkAlert } from '../src/domain/inputs';
import { digestOf } from '../src/digest';
import { redactAlertFields } from '../src/secrets/redact';
import type { AlertDelivery, ContainmentStatus, Disposition, RecordedAlert } from './definitions';

// Deliveries are remembered so intake can answer with a disposition; old ones are dropped.
const MAX_REMEMBERED_DELIVERIES = 1000;

/**
 * Every alert a containment has received: dedupes by alert id, records rejected inputs and
 * answers "what became of delivery X". Pure state; the workflow owns one.
 */
export class AlertLedger {
  private readonly deliveries = new Map<string, Disposition>();
  private fresh: Alert[] = [];

  constructor(
    private readonly identity: IdentityRef,
    readonly alerts: RecordedAlert[] = [],
    readonly rejected: ContainmentStatus['rejectedInputs'] = [],
    /** The case is a dry run: it takes shadow alerts only, and a real case takes none. */
    private readonly shadow = false,
  ) {}

  /** Records one delivery and returns its disposition; new alerts queue for `takeNew`. */
  receive(input: unknown, delivery?: AlertDelivery): Disposition {
    const disposition = this.classify(input);
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

  private classify(input: unknown): Disposition {
    const checked = checkAlert(input);
    if (!checked.ok) {
      const fields = checked.problems.map((p) => p.field);
      this.rejected.push({ reason: `invalid alert: ${[...new Set(fields)].join(', ')}` });
      return 'rejected';
    }
    const alert = checked.value;
    if (alert.identity.provider !== this.identity.provider || alert.identity.id !== this.identity.id) {
      this.rejected.push({ reason: `alert ${alert.id} names another identity` });
      return 'rejected';
    }
    // A shadow alert must never trigger real containment, nor a real alert vanish into a dry run.
    if ((alert.shadow ?? false) !== this.shadow) {
      this.rejected.push({
        reason: `alert ${alert.id} ${this.shadow ? 'is not a shadow alert: it belongs to the real case' : 'is a shadow alert: it belongs to the shadow case'}`,
      });
      return 'rejected';
    }
    const known = this.alerts.find((a) => a.id === alert.id);
    if (known) {
      known.deliveries += 1;
      return 'duplicate';
    }
    // Alerts sent straight to Temporal skip the intake's redaction; what the case keeps is redacted here too.
    const kept = redactAlertFields(alert);
    const { id, source, kind, severity, confidence, observedAt } = kept;
    const evidence = kept.evidence ? digestOf(kept.evidence) : undefined;
    this.alerts.push({ id, source, kind, severity, confidence, observedAt, evidence, deliveries: 1 });
    this.fresh.push(kept);
    return this.alerts.length === 1 ? 'started' : 'merged';
  }
}
