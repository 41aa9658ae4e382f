// Where alerts enter (intake, CLI): secretlint's maintained rule set on top of Cordon's own
// rules. Workflows use ./redact alone (secretlint is asynchronous and not deterministic-safe).
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import type { Alert } from '../alerts/schema';
import { redactAlertFields, type KnownSecrets } from './redact';

export { isSecretKey, redactAlertFields, redactSecrets, redactText } from './redact';

const CONFIG = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };
// Blank lines keep one string's secret from running into the next.
const SEPARATOR = '\n\n';

function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      stringsIn(v, into);
    }
  }
  return into;
}

/** The secrets secretlint's recommended rules find in the strings of `value`. */
export async function secretsFoundBySecretlint(value: unknown): Promise<KnownSecrets> {
  const content = stringsIn(value).join(SEPARATOR);
  const result = await lintSource({
    source: { content, filePath: 'alert.txt', ext: '.txt', contentType: 'text' },
    options: { config: CONFIG, noPhysicFilePath: true },
  });
  // Only the ranges are read: a message quotes the secret it found.
  return new Set(
    result.messages.flatMap(({ range: [start, end] }) =>
      content
        .slice(start, end)
        .split(SEPARATOR)
        .filter((part) => part.length >= 8),
    ),
  );
}

/** The alert with every secret in its summary and evidence replaced by a fingerprint. */
export async function redactAlert(alert: Alert): Promise<Alert> {
  return redactAlertFields(alert, await secretsFoundBySecretlint({ summary: alert.summary, evidence: alert.evidence }));
}
