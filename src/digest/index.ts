import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

// Pure JS so workflows can use it too (no node:crypto in workflow code).

/** `sha256:<hex>` of a string: how Cordon refers to a secret without holding it. */
export function fingerprint(value: string): string {
  return `sha256:${bytesToHex(sha256(utf8ToBytes(value)))}`;
}

/** JSON with object keys sorted at every depth, so equal values always hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The fingerprint of a value's canonical JSON. */
export function digestOf(value: unknown): string {
  return fingerprint(canonicalJson(value));
}

const SECRET_KEY = /secret|token|password|passwd|private.?key|credential|api.?key|^key$/i;

/**
 * Replaces every string value under a secret-looking key with its fingerprint, at any depth
 * below that key (`{"secret": {"value": "…"}}` too). Forwarders sometimes include the leaked
 * value; it must never reach history, logs or audit.
 */
export function fingerprintSecrets(value: unknown, key = '', underSecret = false): unknown {
  const secret = underSecret || SECRET_KEY.test(key);
  if (typeof value === 'string') return secret && !value.startsWith('sha256:') ? fingerprint(value) : value;
  if (Array.isArray(value)) return value.map((item) => fingerprintSecrets(item, key, secret));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fingerprintSecrets(v, k, secret)]));
  }
  return value;
}
