// Why cases need a human, in a few categories: the `reason` label of the cases-needing-attention
// metric. The reasons are the workflow's own sentences; each category matches how they are
// written (test/attention.test.ts holds every one of them to its category). Pure.

/** Every category, so a metric can show each one, at zero too. */
export const ATTENTION_CATEGORIES = [
  'unresolved-identity',
  'no-connector',
  'undo-failed',
  'refused',
  'timeout',
  'action-failed',
  'open-failed',
  'other',
] as const;
export type AttentionCategory = (typeof ATTENTION_CATEGORIES)[number];

// First match wins: an action that failed for want of a connector is `no-connector`, not `action-failed`.
const PATTERNS: [RegExp, AttentionCategory][] = [
  [
    /^no identity system is known for principal |^principal .* (is ambiguous|had no identity system)/,
    'unresolved-identity',
  ],
  [/no connector registered for provider /, 'no-connector'],
  [/^undo failed: |^the identity does not match its state before the case/, 'undo-failed'],
  [/^\S+ refused by the worker: /, 'refused'],
  [/^\S+ failed: .*time(d)?[ -]?out/i, 'timeout'],
  [/^\S+ failed: /, 'action-failed'],
  [/^the case cannot open: /, 'open-failed'],
];

/** The category of a needs-attention reason (as the case's search attribute holds it: its first 200 characters). */
export function attentionCategory(reason: string): AttentionCategory {
  return PATTERNS.find(([pattern]) => pattern.test(reason))?.[1] ?? 'other';
}
