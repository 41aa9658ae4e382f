import type { Alert } from '../alerts/schema';
import type { Database } from '../db';
import { canonicalJson, fingerprint } from '../digest';
import type { EvidenceReference } from '../domain/evidence';

export { evidenceReferenceIn, type EvidenceReference } from '../domain/evidence';

/** Evidence larger than this (canonical JSON, bytes) is stored, not sent into history (CORDON_EVIDENCE_INLINE_BYTES). */
export const DEFAULT_EVIDENCE_INLINE_BYTES = 16 * 1024;

/** Thrown when stored evidence no longer matches its digest. */
export class EvidenceTamperedError extends Error {
  constructor(readonly digest: string) {
    super(`stored evidence ${digest} does not match its digest`);
    this.name = 'EvidenceTamperedError';
  }
}

/**
 * Alert evidence kept in the database by digest (table alert_evidence), so that a workflow
 * history holds a reference of a hundred bytes where the forwarder sent a megabyte.
 */
export class EvidenceStore {
  constructor(
    /** The store, or how to open it when first needed (the CLI opens it only for large evidence). */
    private readonly db: Database | (() => Promise<Database>),
    /** Evidence up to this size travels inline. */
    readonly inlineBytes = DEFAULT_EVIDENCE_INLINE_BYTES,
  ) {}

  private database(): Promise<Database> {
    return typeof this.db === 'function' ? this.db() : Promise.resolve(this.db);
  }

  /** The alert as it should enter history: its evidence inline when small, else a stored reference. */
  async offload(alert: Alert): Promise<Alert> {
    if (!alert.evidence) return alert;
    const json = canonicalJson(alert.evidence);
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.inlineBytes) return alert;
    const reference: EvidenceReference = { evidenceRef: fingerprint(json), evidenceBytes: bytes };
    // Keyed by digest: the same evidence twice is stored once.
    await (
      await this.database()
    ).query(
      'INSERT INTO alert_evidence (digest, evidence, bytes) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING',
      [reference.evidenceRef, json, bytes],
    );
    return { ...alert, evidence: { ...reference } };
  }

  /** The evidence stored under `digest` (an alert's `evidence.evidenceRef`), checked against it. */
  async read(digest: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await (
      await this.database()
    ).query<{ evidence: string }>('SELECT evidence FROM alert_evidence WHERE digest = $1', [digest]);
    if (!rows.length) return undefined;
    if (fingerprint(rows[0].evidence) !== digest) throw new EvidenceTamperedError(digest);
    return JSON.parse(rows[0].evidence) as Record<string, unknown>;
  }
}
