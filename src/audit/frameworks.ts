// Framework references audit entries cite. Pure: workflows import it.
import type { AlertKind } from '../alerts/schema';

/** OWASP Non-Human Identities Top 10 (2025) risk each alert kind evidences. */
const OWASP_NHI: Partial<Record<AlertKind, string>> = {
  secret_leak: 'OWASP NHI2 Secret Leakage',
  token_abuse: 'OWASP NHI2 Secret Leakage',
  cert_compromise: 'OWASP NHI4 Insecure Authentication',
  privilege_escalation: 'OWASP NHI5 Overprivileged NHI',
  agent_scope_violation: 'OWASP NHI5 Overprivileged NHI',
  policy_violation: 'OWASP NHI6 Insecure Cloud Deployment Configurations',
};

/** The OWASP NHI references for a set of alert kinds, without repeats. */
export function owaspReferences(kinds: readonly AlertKind[]): string[] {
  return [...new Set(kinds.flatMap((kind) => OWASP_NHI[kind] ?? []))];
}
