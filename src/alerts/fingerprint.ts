import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

// Pure JS so workflows can use it too (no node:crypto in workflow code).

/** `sha256:<hex>` of a string: how Cordon refers to a secret without holding it. */
export function fingerprint(value: string): string {
  return `sha256:${bytesToHex(sha256(utf8ToBytes(value)))}`;
}

const SECRET_KEY = /secret|token|password|passwd|private.?key|credential|api.?key|^key$/i;

/**
 * Replaces every string value under a secret-looking key with its fingerprint, at any depth.
 * Forwarders sometimes include the leaked value; it must never reach history, logs or audit.
 */
export function fingerprintSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    return SECRET_KEY.test(key) && !value.startsWith('sha256:') ? fingerprint(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => fingerprintSecrets(item, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, fingerprintSecrets(v, k)]),
    );
  }
  return value;
}
