// Webhook replays. A signed delivery stays valid forever (GitHub signs the body, not a time), so a
// delivery posted again later, after its case was closed or declared a false positive, would open
// a new case. Each accepted delivery id is kept for a retention window; a delivery seen before, or
// an event older than the window (which the ledger could no longer recognise), is refused.
import type { Database } from '../db';
import type { FieldProblem } from '../domain/inputs';

/** How long accepted delivery ids are kept, and so the oldest signed event accepted. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3_600_000;

type Headers = Record<string, string | string[] | undefined>;

/** The delivery id a forwarder names (GitHub's `X-GitHub-Delivery`), if it names one. */
export function deliveryIdOf(headers: Headers): string | undefined {
  const id = headers['x-github-delivery'];
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : undefined;
}

/** Why an event is too old to accept, or undefined: its own time (GitHub's `alert.updated_at`). */
export function staleEventProblem(payload: unknown, now = Date.now()): FieldProblem | undefined {
  const alert = (payload as { alert?: { updated_at?: unknown; created_at?: unknown } } | undefined)?.alert;
  const at = Date.parse(String(alert?.updated_at ?? alert?.created_at ?? ''));
  if (Number.isNaN(at) || now - at <= DELIVERY_RETENTION_MS) return undefined;
  return {
    field: 'alert.updated_at',
    message: `the event is from ${new Date(at).toISOString()}, older than the 30 days within which replays are recognised`,
  };
}

/** Accepted delivery ids: in the store when there is one, else in this process. */
export class DeliveryLedger {
  private readonly memory = new Map<string, number>();

  constructor(private readonly db?: Database) {}

  /** When `id` from `source` was accepted, if it was (within the retention window). */
  async acceptedAt(source: string, id: string): Promise<string | undefined> {
    if (!this.db) {
      const at = this.memory.get(`${source}\n${id}`);
      return at !== undefined && Date.now() - at <= DELIVERY_RETENTION_MS ? new Date(at).toISOString() : undefined;
    }
    const { rows } = await this.db.query<{ received_at: Date | string }>(
      `SELECT received_at FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2
       AND received_at > now() - make_interval(secs => $3::double precision / 1000)`,
      [source, id, DELIVERY_RETENTION_MS],
    );
    return rows[0] && new Date(rows[0].received_at).toISOString();
  }

  /**
   * Why this delivery is refused as a replay, or undefined: its id was accepted before, or, for a
   * signed delivery, its event is older than the window in which ids are remembered.
   */
  async replayProblem(source: string, headers: Headers, payload: unknown, signed: boolean) {
    const id = deliveryIdOf(headers);
    const at = id === undefined ? undefined : await this.acceptedAt(source, id);
    if (at) return { field: 'x-github-delivery', message: `delivery ${id} was accepted at ${at}: a replay` };
    return signed ? staleEventProblem(payload) : undefined;
  }

  /** Records an accepted delivery, and forgets those past the window. */
  async accept(source: string, id: string): Promise<void> {
    if (!this.db) {
      for (const [key, at] of this.memory) if (Date.now() - at > DELIVERY_RETENTION_MS) this.memory.delete(key);
      this.memory.set(`${source}\n${id}`, Date.now());
      return;
    }
    await this.db.query(`INSERT INTO webhook_deliveries (source, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      source,
      id,
    ]);
    await this.db.query(
      `DELETE FROM webhook_deliveries WHERE received_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [DELIVERY_RETENTION_MS],
    );
  }
}
