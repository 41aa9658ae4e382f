// Evidence too large for a workflow history travels as a reference: the intake stores it (table
// alert_evidence) and the alert carries its digest and size instead. Pure, so workflows use it.
import { digestOf } from '../digest';

/** What an alert's `evidence` holds when the intake stored the evidence itself. */
export interface EvidenceReference {
  /** `digestOf` the evidence (after secret fingerprinting): its key in the store. */
  evidenceRef: string;
  /** Length of the evidence's canonical JSON. */
  evidenceBytes: number;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The reference an evidence object is, or undefined when it is evidence itself. */
export function evidenceReferenceIn(evidence: Record<string, unknown> | undefined): EvidenceReference | undefined {
  if (!evidence) return undefined;
  const keys = Object.keys(evidence);
  const { evidenceRef, evidenceBytes } = evidence;
  const isReference =
    keys.length === 2 &&
    typeof evidenceRef === 'string' &&
    DIGEST.test(evidenceRef) &&
    typeof evidenceBytes === 'number' &&
    Number.isSafeInteger(evidenceBytes) &&
    evidenceBytes >= 0;
  return isReference ? { evidenceRef, evidenceBytes } : undefined;
}

/**
 * The fingerprint the audit records for an alert's evidence: the same whether the evidence came
 * inline or as a reference to the store, since the reference is that very digest.
 */
export function evidenceFingerprint(evidence: Record<string, unknown>): string {
  return evidenceReferenceIn(evidence)?.evidenceRef ?? digestOf(evidence);
}
