// Replaces secrets with their fingerprints: by the key they sit under and by what they look
// like. Pure, so workflows redact claims that arrive through the namespace the same way.
import { fingerprint } from '../digest';
import { mergeSpans, secretSpans } from './rules';

// Key words that mark a credential; keys are split into words (`sshKey`, `DB_PASSWORD`).
const SECRET_WORDS = new Set([
  'secret',
  'secrets',
  'token',
  'tokens',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'credential',
  'credentials',
  'creds',
  'cred',
  'auth',
  'authorization',
  'cookie',
  'cookies',
  'apikey',
  'pem',
  'privatekey',
  'sshkey',
  'signature',
]);
// `key` alone is too common a word; with one of these before it, it is a credential.
const KEY_QUALIFIERS = new Set(['api', 'private', 'secret', 'ssh', 'signing', 'encryption', 'master', 'client']);

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/** Whether values under this key are credentials. */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (key.toLowerCase() === 'key' || words.some((w) => SECRET_WORDS.has(w))) return true;
  return words.some((w, i) => w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1]));
}

/** Secrets found elsewhere (a maintained rule set) to replace wherever they occur. */
export type KnownSecrets = ReadonlySet<string>;

function knownSpans(text: string, known: KnownSecrets): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const secret of known) {
    for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + secret.length)) {
      spans.push([at, at + secret.length]);
    }
  }
  return spans;
}

/** `text` with every secret in it replaced by its `sha256:` fingerprint. */
export function redactText(text: string, known: KnownSecrets = new Set()): string {
  if (FINGERPRINT.test(text)) return text;
  const spans = mergeSpans([...secretSpans(text), ...knownSpans(text, known)]).filter(
    ([start, end]) => !FINGERPRINT.test(text.slice(start, end)),
  );
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + fingerprint(text.slice(start, end));
    at = end;
  }
  return out + text.slice(at);
}

// `{name: "DB_PASSWORD", value: "…"}`: the secret is named by a sibling, not by its own key.
function namesSecret(object: Record<string, unknown>): boolean {
  const name = object.name ?? object.Name ?? object.key ?? object.Key;
  return typeof name === 'string' && isSecretKey(name);
}

/**
 * A copy of `value` with secrets fingerprinted: every string under a secret-looking key (at any
 * depth below it), every `value` of an entry whose name is secret-looking, and every span of any
 * other string or key that looks like a credential.
 */
export function redactSecrets(value: unknown, known: KnownSecrets = new Set(), underSecret = false): unknown {
  if (typeof value === 'string')
    return underSecret && !FINGERPRINT.test(value) ? fingerprint(value) : redactText(value, known);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, known, underSecret));
  if (!value || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const namedSecret = namesSecret(object);
  return Object.fromEntries(
    Object.entries(object).map(([k, v]) => {
      const secret = underSecret || isSecretKey(k) || (namedSecret && /^value$/i.test(k));
      return [redactText(k, known), redactSecrets(v, known, secret)];
    }),
  );
}

/** Longest summary an alert may carry; a fingerprint is longer than most secrets it replaces. */
const SUMMARY_MAX = 1000;

/** The summary and evidence of an alert, redacted; other fields name things, never secrets. */
export function redactAlertFields<A extends { summary?: string; evidence?: Record<string, unknown> }>(
  alert: A,
  known: KnownSecrets = new Set(),
): A {
  const summary = alert.summary === undefined ? undefined : redactText(alert.summary, known);
  return {
    ...alert,
    ...(summary !== undefined && {
      summary: summary.length > SUMMARY_MAX ? `${summary.slice(0, SUMMARY_MAX - 1)}…` : summary,
    }),
    ...(alert.evidence && { evidence: redactSecrets(alert.evidence, known) as Record<string, unknown> }),
  };
}
