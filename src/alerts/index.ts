import { AlertSchema, fieldProblems, type Alert, type FieldProblem } from './schema';
import { fingerprintSecrets } from '../digest';

export * from './schema';
export { fingerprint, fingerprintSecrets } from '../digest';

/** The result of checking an untrusted alert: the normalized alert or the failing fields. */
export type ParsedAlert = { ok: true; alert: Alert } | { ok: false; problems: FieldProblem[] };

/** Validates an untrusted native alert and fingerprints any secret values in its evidence. */
export function parseAlert(input: unknown): ParsedAlert {
  const parsed = AlertSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: fieldProblems(parsed.error) };
  const alert = parsed.data;
  if (alert.evidence) alert.evidence = fingerprintSecrets(alert.evidence) as Record<string, unknown>;
  return { ok: true, alert };
}
