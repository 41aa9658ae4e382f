import secureJson from 'secure-json-parse';
import type { FieldProblem } from '../alerts/schema';

/** Deeper payloads are refused before anything walks them recursively. */
export const MAX_JSON_DEPTH = 32;

/** Why a body over the size limit (CORDON_MAX_BODY_BYTES) is refused, whether posted or sent by the CLI. */
export const bodyTooLarge = (limit: number): FieldProblem => ({ field: '(body)', message: `exceeds ${limit} bytes` });

/** A request body as JSON, or why it is not usable JSON. */
export type DecodedBody =
  { ok: true; value: unknown } | { ok: false; reason: 'invalid_encoding' | 'invalid_json'; problem: FieldProblem };

const utf8 = new TextDecoder('utf-8', { fatal: true });

const refuse = (reason: 'invalid_encoding' | 'invalid_json', message: string): DecodedBody => ({
  ok: false,
  reason,
  problem: { field: '(body)', message },
});

// A UTF-16 surrogate without its partner: legal as a JSON escape (`\ud800`), but not text. Such a
// string cannot become a workflow id or any other protobuf string.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Iterative, so a hostile nesting depth cannot overflow the stack while it is walked.
function firstFault(value: unknown): string | undefined {
  const stack: [unknown, string, number][] = [[value, '', 0]];
  while (stack.length) {
    const [node, path, depth] = stack.pop()!;
    const at = path || '(root)';
    if (typeof node === 'string' && LONE_SURROGATE.test(node))
      return `holds an unpaired UTF-16 surrogate escape (at ${at})`;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return `nests deeper than ${MAX_JSON_DEPTH} levels (at ${at})`;
    for (const [key, child] of Object.entries(node)) {
      if (LONE_SURROGATE.test(key)) return `holds an unpaired UTF-16 surrogate escape in a key (at ${at})`;
      stack.push([child, path ? `${path}.${key}` : key, depth + 1]);
    }
  }
  return undefined;
}

/**
 * Decodes a body as strict UTF-8 JSON. Prototype-pollution keys (`__proto__`,
 * `constructor.prototype`), nesting deeper than {@link MAX_JSON_DEPTH} and escaped lone
 * surrogates are refused.
 * Messages never quote the body: it may hold the very secret the alert is about.
 */
export function decodeJsonBody(raw: Buffer): DecodedBody {
  if (raw.length === 0) return refuse('invalid_json', 'is empty; send a JSON object');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return refuse('invalid_encoding', 'is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    if (err instanceof SyntaxError && !/prototype/.test(err.message)) {
      const position = /position (\d+)/.exec(err.message)?.[1];
      return refuse('invalid_json', `is not valid JSON${position ? ` (at byte ${position})` : ''}`);
    }
    return refuse('invalid_json', 'contains a forbidden key (__proto__ or constructor.prototype)');
  }
  const fault = firstFault(value);
  if (fault) return refuse('invalid_json', fault);
  return { ok: true, value };
}
