// Checks for the payloads signals carry, written without zod so that workflow code can use them:
// the workflow sandbox gives every cached workflow its own copy of each module it loads. Each
// checker accepts exactly what its zod schema accepts (`AlertSchema` for alerts; reference
// schemas in test/inputs.test.ts for the rest), returns the same value and names the same failing
// fields in the same order; test/inputs.test.ts holds them to that. Pure and deterministic, with
// no Node built-ins.
import { ALERT_ID_MAX, ALERT_KINDS, SEVERITIES, type Alert, type IdentityRef } from './alert';
import { canonicalId, lookAlikeProblem } from './identityId';
import { redactText } from '../secrets/redact';

/** One failing field of an input, as HTTP answers and CLI messages report it. */
export interface FieldProblem {
  /** Dotted path of the field, or `(root)` for the input itself. */
  field: string;
  message: string;
}

/** The checked value, or every failing field (one problem per field). */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** Payload of `approve`, `deny` and (with a decision) the `decide` update. */
export interface DecisionInput {
  requestId: string;
  approver: string;
  reason?: string;
  /** The digest of the action being approved, as the request shows it: another action's is refused. */
  actionDigest?: string;
}

/** Payload of `falsePositive`. */
export interface FalsePositiveInput {
  by: string;
  reason?: string;
}

/** Optional payload of `pause`, `resume` and `retryCompensations`. */
export type OperatorAction = { by?: string; reason?: string } | undefined;

/** Checks one value at `path`, adding what is wrong to `problems`; returns the value to keep. */
type Rule<T> = (input: unknown, path: string, problems: FieldProblem[]) => T;

interface Field {
  rule: Rule<unknown>;
  optional?: boolean;
}

/** What to do with keys the shape does not name: drop them, or refuse the input. */
type UnknownKeys = 'strip' | 'refuse';

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

function report(problems: FieldProblem[], path: string, message: string): void {
  problems.push({ field: path || '(root)', message });
}

/** What a wrong value is, for messages. */
function typeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'number' && !Number.isFinite(input)) return String(input);
  return typeof input;
}

/** Arrays are not objects here; other objects (dates, class instances) are, as for zod. */
function isObject(input: unknown): input is object {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/** zod's test for a record: an object literal, a null-prototype object, or one whose
 * `constructor` was overwritten by data; not a Date, Map or class instance. */
function isPlainObject(input: unknown): input is Record<PropertyKey, unknown> {
  if (!isObject(input)) return false;
  const ctor = (input as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function') return true;
  const prototype: unknown = ctor.prototype;
  return isObject(prototype) && Object.prototype.hasOwnProperty.call(prototype, 'isPrototypeOf');
}

/** Length in code points, as zod counts it: a surrogate pair is one, a lone surrogate one too. */
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) {
      count--;
      i++;
    }
  }
  return count;
}

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** No lone surrogates: they cannot be encoded as UTF-8, so they cannot travel as text. */
function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (isHigh(unit) && isLow(text.charCodeAt(i + 1))) i++;
    else if (isHigh(unit) || isLow(unit)) return false;
  }
  return true;
}

interface TextLimits {
  min?: number;
  max?: number;
  /** A pattern the whole text must match, with what to say when it does not. */
  pattern?: { regex: RegExp; message: string };
  wellFormed?: boolean;
}

function textProblem(input: unknown, limits: TextLimits): string | undefined {
  if (typeof input !== 'string') return `expected a string, got ${typeName(input)}`;
  const length = codePoints(input);
  const min = limits.min ?? 0;
  if (length < min) return min === 1 ? 'must not be empty' : `must have at least ${min} characters`;
  if (limits.max !== undefined && length > limits.max) return `must have at most ${limits.max} characters`;
  if (limits.pattern && !limits.pattern.regex.test(input)) return limits.pattern.message;
  if (limits.wellFormed && !isWellFormed(input)) return 'must be well-formed Unicode text';
  return undefined;
}

function text(limits: TextLimits): Rule<string> {
  return (input, path, problems) => {
    const message = textProblem(input, limits);
    if (message) report(problems, path, message);
    return input as string;
  };
}

function oneOf<T extends string>(values: readonly T[]): Rule<T> {
  return (input, path, problems) => {
    if (!values.includes(input as T)) report(problems, path, `must be one of ${values.join(', ')}`);
    return input as T;
  };
}

/** A finite number in [0, 1]: NaN and the infinities are refused, as zod refuses them. */
const unitInterval: Rule<number> = (input, path, problems) => {
  if (typeof input !== 'number' || !Number.isFinite(input))
    report(problems, path, `expected a finite number, got ${typeName(input)}`);
  else if (input < 0 || input > 1) report(problems, path, 'must be between 0 and 1');
  return input as number;
};

const boolean: Rule<boolean> = (input, path, problems) => {
  if (typeof input !== 'boolean') report(problems, path, `expected a boolean, got ${typeName(input)}`);
  return input as boolean;
};

// RFC 3339 as zod's `z.iso.datetime({ offset: true })` reads it: a real calendar day (leap years
// included), an upper-case T, seconds required, any fraction, and Z or a ±hh:mm offset.
const LEAP_DAY = String.raw`(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29`;
const OTHER_DAY = String.raw`\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?`;
const ZONE = String.raw`(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)`;
const ISO_DATETIME = new RegExp(`^(?:${LEAP_DAY}|${OTHER_DAY})T${TIME}${ZONE}$`);

const isoDateTime: Rule<string> = (input, path, problems) => {
  if (typeof input !== 'string') report(problems, path, `expected a string, got ${typeName(input)}`);
  else if (!ISO_DATETIME.test(input))
    report(problems, path, 'must be an ISO 8601 date-time with seconds and a Z or ±hh:mm offset');
  return input as string;
};

/**
 * A plain object of anything, copied key by key. Like zod: only own enumerable keys are kept, a
 * `__proto__` key is dropped (writing it would replace the copy's prototype), a symbol key fails.
 */
const freeRecord: Rule<Record<string, unknown>> = (input, path, problems) => {
  if (!isPlainObject(input)) {
    report(problems, path, `expected an object, got ${typeName(input)}`);
    return input as Record<string, unknown>;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(input)) {
    if (key === '__proto__' || !Object.prototype.propertyIsEnumerable.call(input, key)) continue;
    if (typeof key === 'symbol') report(problems, at(path, String(key)), 'keys must be strings');
    else copy[key] = input[key];
  }
  return copy;
};

/**
 * An object with the named fields, in the shape's order. A field counts as present when `key in
 * input` (zod's test); a present optional field set to undefined is kept as undefined.
 */
function object<T>(shape: Record<string, Field>, unknownKeys: UnknownKeys): Rule<T> {
  return (input, path, problems) => {
    if (!isObject(input)) {
      report(problems, path, `expected an object, got ${typeName(input)}`);
      return input as T;
    }
    const value: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
      if (!(key in input)) {
        if (!field.optional) report(problems, at(path, key), 'is required');
        continue;
      }
      const given = (input as Record<string, unknown>)[key];
      value[key] = given === undefined && field.optional ? undefined : field.rule(given, at(path, key), problems);
    }
    if (unknownKeys === 'refuse') refuseUnknownKeys(input, shape, path, problems);
    return value as T;
  };
}

/** One problem on the object itself naming every unknown key (zod's `unrecognized_keys`). */
function refuseUnknownKeys(input: object, shape: Record<string, Field>, path: string, problems: FieldProblem[]): void {
  const unknown: string[] = [];
  // for...in, as zod does: inherited enumerable keys count too.
  for (const key in input) if (!Object.prototype.hasOwnProperty.call(shape, key)) unknown.push(key);
  if (unknown.length === 0) return;
  const names = unknown.map((key) => JSON.stringify(key)).join(', ');
  report(problems, path, `unknown field${unknown.length > 1 ? 's' : ''} ${names}`);
}

const optional = (rule: Rule<unknown>): Field => ({ rule, optional: true });
const required = (rule: Rule<unknown>): Field => ({ rule });

const identityIdText = text({
  min: 1,
  max: 256,
  pattern: { regex: /^[^\s\p{Cc}]+$/u, message: 'must not contain whitespace or control characters' },
  wellFormed: true,
});

// As the native schema: the text checks, then the canonical form, then the look-alike checks.
const identityId: Rule<string> = (input, path, problems) => {
  const before = problems.length;
  identityIdText(input, path, problems);
  if (problems.length > before) return input as string;
  const canonical = canonicalId(input as string);
  const problem = lookAlikeProblem(canonical);
  if (problem) report(problems, path, problem);
  return canonical;
};

const identityRef = object<IdentityRef>(
  {
    provider: required(
      text({
        pattern: {
          regex: /^[a-z][a-z0-9-]{0,62}$/,
          message: 'must be a connector name: lowercase letters, digits, dashes',
        },
      }),
    ),
    // It becomes part of a workflow id: printable text only, in NFKC form, and nothing that could
    // make it look like another id.
    id: required(identityId),
  },
  'strip',
);

const alert = object<Alert>(
  {
    // Room for `<source>:` (source names are at most 63 characters).
    id: required(text({ min: 1, max: ALERT_ID_MAX + 64 })),
    source: required(text({ min: 1, max: 200 })),
    kind: required(oneOf(ALERT_KINDS)),
    severity: required(oneOf(SEVERITIES)),
    confidence: required(unitInterval),
    identity: required(identityRef),
    observedAt: optional(isoDateTime),
    summary: optional(text({ max: 1000 })),
    evidence: optional(freeRecord),
    shadow: optional(boolean),
  },
  'refuse',
);

const NAME = text({ min: 1 });

// What a person typed goes into status, notices and the audit: a pasted credential must not.
function redacted(rule: Rule<string>): Rule<string> {
  return (input, path, problems) => {
    const value = rule(input, path, problems);
    return typeof value === 'string' ? redactText(value) : value;
  };
}
// Names and request ids too: a refusal quotes them back.
const TYPED = redacted(NAME);
const REASON = optional(redacted(text({ max: 2000 })));

const decision = object<DecisionInput>(
  { requestId: required(TYPED), approver: required(TYPED), reason: REASON, actionDigest: optional(NAME) },
  'strip',
);
const falsePositive = object<FalsePositiveInput>({ by: required(TYPED), reason: REASON }, 'strip');
const operatorAction = object<NonNullable<OperatorAction>>({ by: optional(TYPED), reason: REASON }, 'strip');

function check<T>(rule: Rule<T>, input: unknown): Checked<T> {
  const problems: FieldProblem[] = [];
  const value = rule(input, '', problems);
  return problems.length ? { ok: false, problems } : { ok: true, value };
}

/** A native alert as `AlertSchema` accepts it: unknown keys refused, identity's extra keys dropped. */
export function checkAlert(input: unknown): Checked<Alert> {
  return check(alert, input);
}

/** The payload of `approve` and `deny`; unknown keys are dropped. */
export function checkDecision(input: unknown): Checked<DecisionInput> {
  return check(decision, input);
}

/** The payload of `falsePositive`; unknown keys are dropped. */
export function checkFalsePositive(input: unknown): Checked<FalsePositiveInput> {
  return check(falsePositive, input);
}

/** The optional payload of `pause`, `resume` and `retryCompensations`; none at all is fine. */
export function checkOperatorAction(input: unknown): Checked<OperatorAction> {
  return input === undefined ? { ok: true, value: undefined } : check(operatorAction, input);
}
