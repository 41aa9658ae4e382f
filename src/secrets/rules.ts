// Credential formats found by value, wherever they sit in an alert or a reason. Pure and
// deterministic: workflows apply the same rules to what arrives through the namespace.
// AWS access key ids (AKIA…, ASIA…) are identifiers, not secrets (AWS says so): responders need
// them to find the key to deactivate. The secret access key beside one is caught as random text.

/** A credential format; each match of `pattern` (global) is the secret itself. */
export interface SecretRule {
  id: string;
  pattern: RegExp;
}

// Words that, before `=` or `:`, make the following word a credential ("password=hunter2").
const ASSIGNED =
  'password|passwd|pwd|pass|passphrase|secret|client[_-]?secret|token|access[_-]?token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|auth|credentials?|cookie';

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'private-key',
    pattern:
      /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  { id: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { id: 'gitlab-token', pattern: /\bgl(?:pat|dt|ptt|rt|oas|cbt|ft|imt|soat|agent)-[A-Za-z0-9_-]{20,}/g },
  { id: 'slack-token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g },
  { id: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g },
  { id: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  // Only the password of `scheme://user:password@host`: the host still says what was leaked.
  { id: 'url-password', pattern: /(?<=\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+(?=@)/gi },
  { id: 'authorization', pattern: /(?<=\b(?:Bearer|Basic|Token|Digest)\s+)[A-Za-z0-9._~+/=-]{8,}/g },
  {
    id: 'assigned-secret',
    pattern: new RegExp(`(?<=\\b(?:${ASSIGNED})["']?\\s*[:=]\\s*["']?)[^\\s"',;&]{4,}`, 'gi'),
  },
];

const CANDIDATE = /[A-Za-z0-9+/=_-]{20,}/g;

// Bits per character; random base62 text of 20 characters has about 4.1, English words under 3.5.
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/**
 * Generic high-entropy strings (an AWS secret key, a random API key of unknown format): upper
 * and lower case and at least two digits, close to the most entropy its length allows.
 * Lowercase hex (digests, commit ids, UUIDs) never qualifies.
 */
export function looksRandom(token: string): boolean {
  if (!/[A-Z]/.test(token) || !/[a-z]/.test(token) || (token.match(/\d/g)?.length ?? 0) < 2) return false;
  return entropy(token) >= Math.min(4.2, 0.88 * Math.log2(token.length));
}

/** The spans of `text` that hold a secret, as [start, end) pairs, sorted and merged. */
export function secretSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const rule of SECRET_RULES) {
    for (const m of text.matchAll(rule.pattern)) if (m[0]) spans.push([m.index, m.index + m[0].length]);
  }
  for (const m of text.matchAll(CANDIDATE)) if (looksRandom(m[0])) spans.push([m.index, m.index + m[0].length]);
  return mergeSpans(spans);
}

/** Overlapping or touching spans joined, in order. */
export function mergeSpans(spans: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}
