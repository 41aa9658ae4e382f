import { AlertSchema, fieldProblems, type Alert, type FieldProblem } from './schema';
import { redactAlertFields } from '../secrets/redact';

export * from './schema';
export { fingerprint } from '../digest';

/** The result of checking an untrusted alert: the normalized alert or the failing fields. */
export type ParsedAlert = { ok: true; alert: Alert } | { ok: false; problems: FieldProblem[] };

/** Validates an untrusted native alert and fingerprints the secrets in its summary and evidence. */
export function parseAlert(input: unknown): ParsedAlert {
  const parsed = AlertSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: fieldProblems(parsed.error) };
  return { ok: true, alert: redactAlertFields(parsed.data) };
}
