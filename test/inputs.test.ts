// The zod-free signal checks must accept exactly what the zod schemas accept, return the same
// value, and name the same failing fields: workflows use the checks, intake and clients the
// schemas, and an alert one accepts and the other refuses would be lost between them.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AlertSchema } from '../src/alerts/schema';
import { ALERT_KINDS, SEVERITIES } from '../src/domain/alert';
import {
  checkAlert,
  checkDecision,
  checkFalsePositive,
  checkOperatorAction,
  type Checked,
  type DecisionInput,
  type FalsePositiveInput,
  type OperatorAction,
} from '../src/domain/inputs';

// Reference zod schemas for the signal payloads: the zod-free checks must accept, return and
// refuse exactly what these do.
const DecisionInputSchema = z.object({
  requestId: z.string().min(1),
  approver: z.string().min(1),
  reason: z.string().max(2000).optional(),
  actionDigest: z.string().min(1).optional(),
});
const FalsePositiveSchema = z.object({ by: z.string().min(1), reason: z.string().max(2000).optional() });
const OperatorActionSchema = z
  .object({ by: z.string().min(1).optional(), reason: z.string().max(2000).optional() })
  .optional();

// The hand-written payload types are the schemas' types.
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies MutuallyAssignable<DecisionInput, z.infer<typeof DecisionInputSchema>>;
true satisfies MutuallyAssignable<FalsePositiveInput, z.infer<typeof FalsePositiveSchema>>;
true satisfies MutuallyAssignable<OperatorAction, z.infer<typeof OperatorActionSchema>>;

const RUNS = 3_000;

/** Distinct failing paths in first-seen order, as the workflows turn them into a reason. */
const distinct = (paths: string[]) => [...new Set(paths)];

function zodOutcome(schema: z.ZodType, input: unknown) {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  // String(): zod keeps a symbol key as a symbol in the path.
  return {
    ok: false,
    fields: distinct(parsed.error.issues.map((issue) => issue.path.map(String).join('.') || '(root)')),
  };
}

function ourOutcome(checked: Checked<unknown>) {
  return checked.ok
    ? { ok: true, value: checked.value }
    : { ok: false, fields: distinct(checked.problems.map((p) => p.field)) };
}

/** Own keys in order, for the value and each nested object a checker builds. */
function keyOrder(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  return { top: Object.keys(record), identity: keyOrder(record.identity), evidence: keyOrder(record.evidence) };
}

function expectAgreement(schema: z.ZodType, check: (input: unknown) => Checked<unknown>, input: unknown): void {
  const theirs = zodOutcome(schema, input);
  const checked = check(input);
  const ours = ourOutcome(checked);
  expect(ours).toStrictEqual(theirs);
  // One problem per field, unlike zod, which may report a field once per failing check.
  if (!checked.ok) expect(checked.problems.length).toBe(ours.fields?.length);
  if (theirs.ok) expect(keyOrder(ours.value)).toEqual(keyOrder(theirs.value));
}

// ---- Generators -------------------------------------------------------------------------------

const ABSENT = Symbol('absent');

/** Characters that sit on the edges of the rules: whitespace, controls, surrogates, astral. */
const trickyChar = fc.constantFrom(
  'a',
  'Z',
  '0',
  '-',
  '_',
  '.',
  ':',
  'é',
  '中',
  '😀',
  '\u200b',
  '\ufeff',
  '\u202e', // a bidirectional override
  'а', // Cyrillic a
  'ｓ', // fullwidth s: NFKC folds it to s
  'ﬁ', // a ligature NFKC unfolds
  'デ',
  '\u00a0',
  '\u2028',
  '\u3000',
  ' ',
  '\t',
  '\n',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\ud83d',
  '\ude00',
  '\udbff',
  '\udc00',
);
const char = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: trickyChar },
);
const shortText = fc.string({ unit: char, maxLength: 12 });

/** Strings around every length limit, in single- and two-unit characters. */
const LIMITS = [0, 1, 63, 200, 256, 264, 1000, 2000];
const boundaryText = fc
  .tuple(fc.constantFrom(...LIMITS), fc.integer({ min: -1, max: 1 }), fc.constantFrom('a', 'é', '😀', '\ud800', ' '))
  .filter(([limit, delta]) => limit + delta >= 0)
  .map(([limit, delta, unit]) => unit.repeat(limit + delta));

const junk = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -0, 1, NaN, Infinity, -Infinity, '', [], {}),
  fc.anything({
    maxDepth: 2,
    maxKeys: 3,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withNullPrototype: true,
    withBigInt: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
);

const anyText = fc.oneof(shortText, boundaryText, fc.string({ maxLength: 30 }));
const textOrJunk = fc.oneof({ weight: 4, arbitrary: anyText }, { weight: 1, arbitrary: junk });

const provider = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,62}$/),
  fc.constantFrom('a', 'aws-iam', 'A', '1abc', '-x', 'a_b', 'a'.repeat(63), 'a'.repeat(64), 'aws iam', 'simulated\n'),
  textOrJunk,
);
const identityId = fc.oneof(
  fc.string({ unit: trickyChar, minLength: 1, maxLength: 8 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  textOrJunk,
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** Date-times assembled from parts that stray just past every calendar and clock limit. */
const datetimeParts = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1900, 2000, 2023, 2024, 2100, 2400)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(28, 29, 30, 31)),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.option(fc.integer({ min: 0, max: 61 }), { freq: 8 }),
    fraction: fc.option(fc.stringMatching(/^\d{0,10}$/), { freq: 2 }),
    zone: fc.constantFrom(
      'Z',
      'Z',
      '+00:00',
      '-00:00',
      '+05:30',
      '-23:59',
      '+24:00',
      '+05:60',
      'z',
      '',
      '+0530',
      '+05',
      ' Z',
    ),
    separator: fc.constantFrom('T', 'T', 'T', 't', ' '),
    yearWidth: fc.constantFrom(4, 4, 4, 2, 5),
  })
  .map((d) => {
    const seconds = d.second === null ? '' : `:${pad(d.second, 2)}${d.fraction === null ? '' : `.${d.fraction}`}`;
    return `${pad(d.year, d.yearWidth)}-${pad(d.month, 2)}-${pad(d.day, 2)}${d.separator}${pad(d.hour, 2)}:${pad(d.minute, 2)}${seconds}${d.zone}`;
  });
const isoString = fc
  .date({ noInvalidDate: true, min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') })
  .map((d) => d.toISOString());
/** A valid date-time with one character inserted, removed or replaced. */
const nearlyIso = fc
  .tuple(
    isoString,
    fc.nat(),
    fc.integer({ min: 0, max: 1 }),
    fc.constantFrom('', '0', '9', 'T', ':', '-', '.', 'Z', '+', '٣', ' '),
  )
  .map(([text, at, remove, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + remove);
  });
const observedAt = fc.oneof(datetimeParts, isoString, nearlyIso, textOrJunk);

const confidence = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.constantFrom(
    0,
    -0,
    1,
    0.5,
    1 + Number.EPSILON,
    -Number.MIN_VALUE,
    Number.MIN_VALUE,
    NaN,
    Infinity,
    -Infinity,
    '0.5',
    1n,
  ),
  fc.double(),
  junk,
);
const enumOf = (values: readonly string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.constantFrom(...values.map((v) => v.toUpperCase()), ...values.map((v) => ` ${v}`), '') },
    { weight: 1, arbitrary: junk },
  );

/** Own enumerable key set without the setter: `{ __proto__: x }` would replace the prototype. */
function withOwnKey(target: object, key: PropertyKey, value: unknown): object {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

class Finding {
  constructor(readonly rule = 'r1') {}
}
const evidence = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.dictionary(
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', 'a.b', ''),
    fc.jsonValue({ maxDepth: 1 }),
    { maxKeys: 3 },
  ),
  fc.constantFrom(
    JSON.parse('{"__proto__": {"polluted": true}, "kept": 1}'),
    { constructor: 'not a function', x: 1 },
    { constructor: Object },
    { constructor: Function },
    { undefinedValue: undefined },
    withOwnKey({}, Symbol('sym'), 1),
    Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false }),
    Object.assign(Object.create(null), { bare: true }),
    Object.create({ inherited: 1 }),
    new Finding(),
    new Date(0),
    new Map([['a', 1]]),
    [1, 2],
  ),
  junk,
);

/** Each field: usually valid, sometimes broken, sometimes absent. */
function field<T>(valid: fc.Arbitrary<T>, broken: fc.Arbitrary<unknown>, absentWeight = 1) {
  return fc.oneof(
    { weight: 8, arbitrary: valid as fc.Arbitrary<unknown> },
    { weight: 2, arbitrary: broken },
    { weight: absentWeight, arbitrary: fc.constant(ABSENT) },
  );
}

/** An object of the fields (ABSENT ones left out) and extra keys, some maybe inherited. */
function assemble(fields: Record<string, unknown>, extras: [string, unknown][], inherit: boolean): object {
  const entries = [...Object.entries(fields).filter(([, v]) => v !== ABSENT), ...extras];
  // Some keys come from the prototype instead: zod reads fields with `in` and finds unknown keys with for...in.
  const [own, inherited] = inherit
    ? [entries.filter((_, i) => i % 2 === 0), entries.filter((_, i) => i % 2 === 1)]
    : [entries, []];
  const target = inherit ? Object.create(Object.fromEntries(inherited)) : {};
  for (const [key, value] of own) withOwnKey(target, key, value);
  return target;
}

const extraKeys = fc.array(
  fc.tuple(
    fc.constantFrom('extra', 'ID', '__proto__', 'constructor', 'toString', 'identity ', 'kinds'),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  { maxLength: 2 },
);
/** Whether some fields come from the prototype: one time in `oneIn`. */
const inherits = (oneIn: number) =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

const identity = fc
  .tuple(
    fc.record({
      provider: field(fc.constantFrom('simulated', 'aws-iam'), provider),
      id: field(fc.constantFrom('svc-payments', 'ci-job-token'), identityId),
    }),
    extraKeys,
    inherits(5),
  )
  .map(([fields, extras, inherit]) => assemble(fields, extras, inherit));

const alertFields = fc.record({
  id: field(fc.constantFrom('alert-1', 'siem:a-7'), anyText),
  source: field(fc.constant('siem'), anyText),
  kind: field(fc.constantFrom(...ALERT_KINDS), enumOf(ALERT_KINDS)),
  severity: field(fc.constantFrom(...SEVERITIES), enumOf(SEVERITIES)),
  confidence: field(fc.constant(0.9), confidence),
  identity: field(identity, junk),
  observedAt: field(isoString, observedAt, 4),
  summary: field(fc.string({ maxLength: 40 }), textOrJunk, 4),
  evidence: field(
    fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
    evidence,
    4,
  ),
  shadow: field(fc.boolean(), junk, 4),
});
const alert = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(alertFields, extraKeys, inherits(10))
      .map(([fields, extras, inherit]) => assemble(fields, extras, inherit)),
  },
  { weight: 1, arbitrary: junk },
);

const reason = field(fc.string({ maxLength: 40 }), fc.oneof(anyText, junk), 3);
const name = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: textOrJunk },
);
const payload = (fields: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(fields, extraKeys, inherits(10)).map(([f, extras, inherit]) => assemble(f, extras, inherit)),
    },
    { weight: 1, arbitrary: junk },
  );

const decision = payload(
  fc.record({
    requestId: field(name, textOrJunk),
    approver: field(name, textOrJunk),
    reason,
    actionDigest: field(name, textOrJunk, 3),
  }),
);
const falsePositive = payload(fc.record({ by: field(name, textOrJunk), reason }));
const operatorAction = fc.oneof(payload(fc.record({ by: field(name, textOrJunk, 3), reason })), fc.constant(undefined));

// ---- Properties --------------------------------------------------------------------------------

describe('the zod-free checks agree with the zod schemas', () => {
  it('alerts: same verdict, same value, same failing fields', () => {
    fc.assert(
      fc.property(alert, (input) => expectAgreement(AlertSchema, checkAlert, input)),
      { numRuns: RUNS * 3 },
    );
  });

  it('alerts broken in exactly one field name that field', () => {
    const base = {
      id: 'a-1',
      source: 'siem',
      kind: 'secret_leak',
      severity: 'high',
      confidence: 0.9,
      identity: { provider: 'simulated', id: 'svc-1' },
    };
    const broken: Record<string, fc.Arbitrary<unknown>> = {
      id: anyText,
      source: anyText,
      kind: enumOf(ALERT_KINDS),
      severity: enumOf(SEVERITIES),
      confidence,
      observedAt,
      summary: textOrJunk,
      evidence,
      shadow: junk,
      identity: fc.oneof(junk, identity),
      'identity.provider': provider,
      'identity.id': identityId,
    };
    const oneBroken = fc.constantFrom(...Object.keys(broken)).chain((key) =>
      broken[key].map((value) => {
        const [outer, inner] = key.split('.');
        return inner ? { ...base, identity: { ...base.identity, [inner]: value } } : { ...base, [outer]: value };
      }),
    );
    fc.assert(
      fc.property(oneBroken, (input) => expectAgreement(AlertSchema, checkAlert, input)),
      { numRuns: RUNS },
    );
  });

  it('observedAt: exactly the date-times zod accepts', () => {
    const at = (observedAt: unknown) => ({
      id: 'a',
      source: 's',
      kind: 'secret_leak',
      severity: 'low',
      confidence: 0,
      identity: { provider: 'p', id: 'i' },
      observedAt,
    });
    fc.assert(
      fc.property(observedAt, (value) => expectAgreement(AlertSchema, checkAlert, at(value))),
      { numRuns: RUNS * 2 },
    );
  });

  it('decisions', () => {
    fc.assert(
      fc.property(decision, (input) => expectAgreement(DecisionInputSchema, checkDecision, input)),
      { numRuns: RUNS },
    );
  });

  it('false-positive declarations', () => {
    fc.assert(
      fc.property(falsePositive, (input) => expectAgreement(FalsePositiveSchema, checkFalsePositive, input)),
      { numRuns: RUNS },
    );
  });

  it('operator actions', () => {
    fc.assert(
      fc.property(operatorAction, (input) => expectAgreement(OperatorActionSchema, checkOperatorAction, input)),
      { numRuns: RUNS },
    );
  });
});

// ---- Examples ----------------------------------------------------------------------------------

const valid = () => ({
  id: 'siem:a-1',
  source: 'siem',
  kind: 'secret_leak',
  severity: 'high',
  confidence: 0.9,
  identity: { provider: 'simulated', id: 'svc-payments' },
});
const fieldsOf = (checked: Checked<unknown>) => (checked.ok ? [] : checked.problems.map((p) => p.field));

describe('checkAlert', () => {
  it('accepts a minimal alert and returns an equal, separate object', () => {
    const input = valid();
    const checked = checkAlert(input);
    expect(checked).toEqual({ ok: true, value: input });
    expect(checked.ok && checked.value).not.toBe(input);
  });

  it('refuses an alert with an unknown key, naming the key on the alert itself', () => {
    const checked = checkAlert({ ...valid(), colour: 'red' });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.problems).toEqual([
      { field: '(root)', message: expect.stringContaining('"colour"') },
    ]);
  });

  it('refuses an own __proto__ key as unknown, as JSON.parse would deliver it', () => {
    expect(
      fieldsOf(checkAlert(JSON.parse(`{"__proto__": {"isAdmin": true}, ${JSON.stringify(valid()).slice(1)}`))),
    ).toEqual(['(root)']);
  });

  it("drops the identity's unknown keys instead of refusing them", () => {
    const checked = checkAlert({ ...valid(), identity: { provider: 'simulated', id: 'svc-payments', region: 'eu' } });
    expect(checked.ok && checked.value.identity).toStrictEqual({ provider: 'simulated', id: 'svc-payments' });
  });

  it('names every failing field once, in the order zod reports them', () => {
    const checked = checkAlert({
      ...valid(),
      id: '',
      kind: 'fire',
      confidence: 2,
      identity: { provider: 'AWS', id: '' },
      extra: 1,
    });
    expect(fieldsOf(checked)).toEqual(['id', 'kind', 'confidence', 'identity.provider', 'identity.id', '(root)']);
  });

  it('refuses identity ids with whitespace, control characters or a lone surrogate', () => {
    for (const id of ['svc payments', 'svc\u0000', 'svc\u0085', 'svc\ud800', '\udc00svc']) {
      expect(fieldsOf(checkAlert({ ...valid(), identity: { provider: 'simulated', id } })), JSON.stringify(id)).toEqual(
        ['identity.id'],
      );
    }
    expect(checkAlert({ ...valid(), identity: { provider: 'simulated', id: 'svc-😀' } }).ok).toBe(true);
  });

  it('counts length in code points, as zod does: 256 emoji make a valid identity id, 257 do not', () => {
    const withId = (id: string) => checkAlert({ ...valid(), identity: { provider: 'simulated', id } });
    expect(withId('😀'.repeat(256)).ok).toBe(true);
    expect(fieldsOf(withId('😀'.repeat(257)))).toEqual(['identity.id']);
  });

  it('accepts 29 February only in leap years', () => {
    const on = (day: string) => checkAlert({ ...valid(), observedAt: `${day}T12:00:00Z` }).ok;
    expect([on('2024-02-29'), on('2000-02-29'), on('2023-02-29'), on('1900-02-29'), on('2023-04-31')]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('wants seconds, an upper-case T and Z or a ±hh:mm offset in observedAt', () => {
    for (const observedAt of [
      '2024-05-01T12:00Z',
      '2024-05-01t12:00:00Z',
      '2024-05-01T12:00:00',
      '2024-05-01T12:00:00+0200',
      '2024-05-01T12:00:00.Z',
    ]) {
      expect(fieldsOf(checkAlert({ ...valid(), observedAt })), observedAt).toEqual(['observedAt']);
    }
    for (const observedAt of [
      '2024-05-01T12:00:00Z',
      '2024-05-01T12:00:00.123456789+02:00',
      '2024-05-01T23:59:59-23:59',
    ]) {
      expect(checkAlert({ ...valid(), observedAt }).ok, observedAt).toBe(true);
    }
  });

  it('refuses NaN and the infinities as confidence', () => {
    for (const confidence of [NaN, Infinity, -Infinity])
      expect(fieldsOf(checkAlert({ ...valid(), confidence }))).toEqual(['confidence']);
  });

  it('drops an evidence __proto__ key without touching the prototype', () => {
    const checked = checkAlert({ ...valid(), evidence: JSON.parse('{"__proto__": {"polluted": true}, "rule": "r1"}') });
    expect(checked.ok && checked.value.evidence).toStrictEqual({ rule: 'r1' });
    expect(checked.ok && Object.getPrototypeOf(checked.value.evidence)).toBe(Object.prototype);
  });

  it('refuses evidence that is not a plain object', () => {
    for (const evidence of [[], null, new Date(0), new Map(), new Finding()])
      expect(fieldsOf(checkAlert({ ...valid(), evidence }))).toEqual(['evidence']);
  });
});

describe('checkDecision, checkFalsePositive, checkOperatorAction', () => {
  it('keep only the known fields of a decision', () => {
    expect(checkDecision({ requestId: 'r1', approver: 'alice', reason: 'ok', note: 'x' })).toStrictEqual({
      ok: true,
      value: { requestId: 'r1', approver: 'alice', reason: 'ok' },
    });
  });

  it('name a missing approver and an over-long reason', () => {
    expect(fieldsOf(checkDecision({ requestId: 'r1', reason: 'x'.repeat(2001) }))).toEqual(['approver', 'reason']);
  });

  it('refuse a false positive without anyone declaring it', () => {
    expect(fieldsOf(checkFalsePositive({ by: '' }))).toEqual(['by']);
    expect(fieldsOf(checkFalsePositive('alice'))).toEqual(['(root)']);
  });

  it('accept no operator payload at all, but not null', () => {
    expect(checkOperatorAction(undefined)).toStrictEqual({ ok: true, value: undefined });
    expect(checkOperatorAction({})).toStrictEqual({ ok: true, value: {} });
    expect(fieldsOf(checkOperatorAction(null))).toEqual(['(root)']);
  });
});

describe('what workflow code may load', () => {
  /** Every module reachable from `file` through relative imports, with its bare imports. */
  function imports(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
    if (seen.has(file)) return seen;
    const source = readFileSync(file, 'utf8');
    const specifiers = [...source.matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    seen.set(
      file,
      specifiers.filter((s) => !s.startsWith('.')),
    );
    for (const s of specifiers.filter((s) => s.startsWith('.'))) {
      const base = path.resolve(path.dirname(file), s);
      const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      expect(resolved, `${s} from ${file}`).toBeDefined();
      imports(resolved!, seen);
    }
    return seen;
  }

  it('the checks and the audit entry import neither zod nor Node built-ins', () => {
    for (const entry of ['inputs.ts', 'auditEntry.ts']) {
      for (const [file, bare] of imports(path.join(__dirname, '..', 'src', 'domain', entry))) {
        const forbidden = bare.filter(
          (s) =>
            s === 'zod' || s.startsWith('zod/') || s.startsWith('node:') || builtinModules.includes(s.split('/')[0]),
        );
        expect(forbidden, file).toEqual([]);
      }
    }
  });
});

describe('identity ids', () => {
  const alertAbout = (id: string) => ({
    id: 'a',
    source: 's',
    kind: 'secret_leak',
    severity: 'low',
    confidence: 0.5,
    identity: { provider: 'simulated', id },
  });
  const problemOf = (id: string) => {
    const checked = checkAlert(alertAbout(id));
    return checked.ok ? checked.value.identity.id : checked.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  };

  it('are compared in NFKC form, by the schema and the workflow check alike', () => {
    expect(problemOf('ｓｖｃ-deploy')).toBe('svc-deploy');
    expect(AlertSchema.parse(alertAbout('ｓｖｃ-deploy')).identity.id).toBe('svc-deploy');
    expect(problemOf('ci-bot-データ')).toBe('ci-bot-データ');
    expect(problemOf('пользователь')).toBe('пользователь');
  });

  it('refuse bidirectional controls, invisible characters and mixed scripts, naming the character', () => {
    expect(problemOf('svc\u202Eyolpd')).toBe('identity.id: must not contain U+202E (a bidirectional control)');
    expect(problemOf('svc\u200Bdeploy')).toBe('identity.id: must not contain U+200B (an invisible character)');
    expect(problemOf('svc-dеploy')).toBe('identity.id: mixes Latin and Cyrillic letters (U+0435 "е")');
    for (const id of ['svc\u202Eyolpd', 'svc\u2066x', 'a\u00ADb', 'svc-dеploy', 'pаypal']) {
      expect(AlertSchema.safeParse(alertAbout(id)).success).toBe(false);
    }
  });
});
