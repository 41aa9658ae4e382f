// Identity ids become workflow ids, and people read those: one id must not be able to look like
// another. Ids are compared in NFKC form; characters that reorder or hide text, and letters of
// scripts that are not written together, are refused with the character named. Pure and
// zod-free: the native schema and the workflow's own check use it alike.

/** The form ids are compared in: compatibility characters (fullwidth letters, ligatures) folded. */
export const canonicalId = (id: string): string => id.normalize('NFKC');

// Bidirectional controls: they reorder what a reader sees.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
// Characters that show nothing: zero-width spaces and joiners, word joiners, fillers, selectors.
const INVISIBLE =
  /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200D\u2060-\u2064\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/u;

const SCRIPTS: [string, RegExp][] = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Cherokee',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
  'Bopomofo',
].map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')]);
// Scripts written together (Unicode's "highly restrictive" profile): any subset of one of these.
const WRITTEN_TOGETHER = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why an identity id (already in canonical form) could pass for another, or undefined. */
export function lookAlikeProblem(id: string): string | undefined {
  const bidi = BIDI.exec(id)?.[0];
  if (bidi) return `must not contain ${codePoint(bidi)} (a bidirectional control)`;
  const hidden = INVISIBLE.exec(id)?.[0];
  if (hidden) return `must not contain ${codePoint(hidden)} (an invisible character)`;
  const seen = new Map<string, string>();
  for (const char of id) {
    const script = SCRIPTS.find(([, pattern]) => pattern.test(char))?.[0];
    if (script && !seen.has(script)) seen.set(script, char);
  }
  const scripts = [...seen.keys()];
  if (scripts.length < 2 || WRITTEN_TOGETHER.some((set) => scripts.every((s) => set.includes(s)))) return undefined;
  const [first, second] = scripts;
  const letter = seen.get(second)!;
  return `mixes ${first} and ${second} letters (${codePoint(letter)} "${letter}")`;
}
