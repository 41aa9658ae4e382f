import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Source } from './sources';

/** Who sent a request: a configured source, `anonymous` on an unconfigured loopback intake. */
export type Sender = { ok: true; source?: Source } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
export const isLoopback = (ip: string) => LOOPBACK.has(ip);

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? undefined : value);

// Every candidate is compared, match or not, so timing says nothing about which one matched.
function firstMatch(sources: Source[], presented: Buffer, expectedOf: (s: Source) => Buffer[]): Source | undefined {
  let found: Source | undefined;
  for (const source of sources) {
    for (const expected of expectedOf(source)) {
      if (expected.length === presented.length && timingSafeEqual(expected, presented) && !found) found = source;
    }
  }
  return found;
}

const tokenDigests = (s: Source) => s.tokens.map((hash) => Buffer.from(hash.slice('sha256:'.length), 'hex'));

/**
 * Authenticates an intake request by bearer token (compared by SHA-256 digest) or by a
 * GitHub-style `X-Hub-Signature-256` HMAC over the exact body bytes.
 */
export function authenticate(sources: Source[] | undefined, headers: Headers, body: Buffer, ip: string): Sender {
  if (!sources)
    return isLoopback(ip)
      ? { ok: true }
      : { ok: false, reason: 'no sources configured: only loopback clients may post' };

  const authorization = single(headers.authorization);
  if (authorization !== undefined) {
    const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
    if (!token) return { ok: false, reason: 'authorization header is not "Bearer <token>"' };
    const source = firstMatch(sources, createHash('sha256').update(token, 'utf8').digest(), tokenDigests);
    return source ? { ok: true, source } : { ok: false, reason: 'unknown bearer token' };
  }

  const signature = single(headers['x-hub-signature-256']);
  if (signature !== undefined) {
    const hex = /^sha256=([0-9a-f]{64})$/i.exec(signature)?.[1];
    if (!hex) return { ok: false, reason: 'X-Hub-Signature-256 is not "sha256=<64 hex digits>"' };
    const source = firstMatch(sources, Buffer.from(hex, 'hex'), (s) =>
      s.hmacKey ? [createHmac('sha256', s.hmacKey).update(body).digest()] : [],
    );
    return source ? { ok: true, source } : { ok: false, reason: 'signature matches no source' };
  }
  return { ok: false, reason: 'no credentials: send Authorization: Bearer <token> or X-Hub-Signature-256' };
}
