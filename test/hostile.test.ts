// Property-based: thousands of malformed and adversarial requests against a running intake.
// Every one must get a 4xx JSON answer naming the problem; none may start a workflow.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FORMAT_NAMES } from '../src/alerts/formats';
import { example, FORMAT_CASES, pathKeys, setPath, type FormatCase } from './support/formats';
import { useHarness } from './support/harness';
import { sample, signature, SIEM, startIntake } from './support/intake';

const RUNS = 10_000;
const MAX_BODY_BYTES = 64 * 1024;

const h = useHarness();
let intake: Awaited<ReturnType<typeof startIntake>>;
beforeAll(async () => {
  intake = await startIntake(h.env.client, h.taskQueue, { maxBodyBytes: MAX_BODY_BYTES });
});
afterAll(() => intake?.close());

const valueAt = (payload: Record<string, any>, p: string) => pathKeys(p).reduce((node, key) => node?.[key], payload);
const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A JSON value of any type but `type`: a wrong type for the field that held it. */
const wrongTypeFor = (type: string) =>
  fc
    .oneof(
      fc.string({ maxLength: 20 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    )
    .filter((v) => jsonType(v) !== type);

const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

// Each yields body text from one fixture that its schema (or the decoder) must refuse.
const mutations = (c: FormatCase): fc.Arbitrary<{ kind: string; text: string }>[] => [
  fc
    .constantFrom(...c.required)
    .map((p) => ({ kind: 'missing field', text: JSON.stringify(setPath(example(c.file), p, undefined)) })),
  fc.constantFrom(...c.required).chain((p) =>
    wrongTypeFor(jsonType(valueAt(example(c.file), p))).map((v) => ({
      kind: 'wrong type',
      text: JSON.stringify(setPath(example(c.file), p, v)),
    })),
  ),
  fc
    .tuple(
      fc.constantFrom(...c.bounded),
      fc.integer({ min: 5_000, max: 100_000 }),
      fc.string({ minLength: 1, maxLength: 3, unit: 'grapheme' }),
    )
    .map(([p, n, s]) => ({
      kind: 'huge string',
      text: JSON.stringify(setPath(example(c.file), p, s.repeat(Math.ceil(n / s.length)))),
    })),
  // Native evidence is free-form, so there the nesting is the only thing wrong with the alert.
  fc.integer({ min: 33, max: 4_000 }).map((depth) => ({
    kind: 'deep nesting',
    text: JSON.stringify(
      c.format === 'native'
        ? setPath(example(c.file), 'evidence.nested', nested(depth))
        : { ...example(c.file), nested: nested(depth) },
    ),
  })),
  fc
    .constantFrom(
      '"__proto__":{"polluted":true},',
      '"constructor":{"prototype":{"polluted":true}},',
      '"a":{"__proto__":{"isAdmin":true}},',
    )
    .map((key) => ({ kind: 'prototype pollution', text: JSON.stringify(example(c.file)).replace('{', `{${key}`) })),
  // An escaped lone surrogate is valid JSON but no text; anywhere in a body it is refused.
  fc.tuple(fc.constantFrom(...c.bounded), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff')).map(([p, lone]) => ({
    kind: 'unpaired surrogate',
    text: JSON.stringify(setPath(example(c.file), p, `svc${lone}x`)),
  })),
  // Control characters cannot be part of an identity id (it becomes a workflow id).
  ...(c.identity
    ? [
        fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f', '\u0085').map((ch) => ({
          kind: 'control character',
          text: JSON.stringify(setPath(example(c.file), c.identity!, `svc${ch}x`)),
        })),
      ]
    : []),
  fc
    .constant(JSON.stringify(example(c.file)))
    .chain((text) =>
      fc.integer({ min: 0, max: text.length - 2 }).map((cut) => ({ kind: 'truncated', text: text.slice(0, cut) })),
    ),
];

const INVALID_UTF8 = [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];

const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...FORMAT_CASES)
      .chain((c) => fc.oneof(...mutations(c)).map((m) => ({ ...m, format: c.format, bytes: Buffer.from(m.text) }))),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...FORMAT_CASES), fc.constantFrom(...INVALID_UTF8), fc.nat())
      .map(([c, bad, at]) => {
        const text = Buffer.from(JSON.stringify(example(c.file)));
        const i = at % text.length;
        return {
          kind: 'invalid UTF-8',
          format: c.format,
          bytes: Buffer.concat([text.subarray(0, i), Buffer.from(bad), text.subarray(i)]),
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .json({ maxDepth: 4 })
      .map((text) => ({ kind: 'random JSON', format: undefined, bytes: Buffer.from(text) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 200 })
      .map((b) => ({ kind: 'random bytes', format: undefined, bytes: Buffer.from(b) })),
  },
);

const request = fc.record({
  body,
  route: fc.oneof(
    { weight: 4, arbitrary: fc.constant('match') },
    { weight: 2, arbitrary: fc.constant('/v1/alerts') },
    { weight: 1, arbitrary: fc.constantFrom(...FORMAT_NAMES).map((f) => `/v1/alerts/${f}`) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z%.]{1,12}$/).map((s) => `/v1/alerts/${s}`) },
  ),
  auth: fc.constantFrom('bearer', 'bearer', 'hmac', 'hmac', 'none', 'wrong-token', 'bad-signature'),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        '',
      ),
    },
  ),
  githubEvent: fc.constantFrom(undefined, 'secret_scanning_alert', 'push'),
});

it(`answers ${RUNS} hostile requests with 4xx JSON naming the problem, and starts no workflow`, async () => {
  const statuses = new Map<number, number>();
  let alertRequests = 0; // fetch resolves dot segments: `/v1/alerts/..` is a request for `/v1/`
  await fc.assert(
    fc.asyncProperty(request, async ({ body: b, route, auth, contentType, githubEvent }) => {
      const headers: Record<string, string> = {};
      if (contentType) headers['content-type'] = contentType;
      if (githubEvent) headers['x-github-event'] = githubEvent;
      if (auth === 'bearer') headers.authorization = `Bearer ${SIEM.token}`;
      if (auth === 'wrong-token') headers.authorization = `Bearer ${SIEM.token}x`;
      if (auth === 'hmac') headers['x-hub-signature-256'] = signature(b.bytes);
      if (auth === 'bad-signature')
        headers['x-hub-signature-256'] = signature(Buffer.concat([b.bytes, Buffer.from(' ')]));
      const path = route === 'match' ? `/v1/alerts/${b.format ?? 'native'}` : route;

      const res = await fetch(`${intake.url}${path}`, { method: 'POST', headers, body: b.bytes });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (new URL(res.url).pathname.startsWith('/v1/alerts')) alertRequests += 1;
      const text = await res.text();
      expect(res.status, `${b.kind} to ${path}: ${text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${b.kind} to ${path}: ${text}`).toBeLessThan(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const answer = JSON.parse(text);
      expect(answer.error).toEqual(expect.any(String));
      expect(answer.problems.length).toBeGreaterThan(0);
      for (const p of answer.problems) expect(p).toEqual({ field: expect.any(String), message: expect.any(String) });
    }),
    { numRuns: RUNS },
  );

  // Every class of refusal was exercised, the server still answers, and nothing was accepted.
  expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415]));
  expect((await fetch(`${intake.url}/healthz`)).status).toBe(200);
  const metrics = await intake.metrics();
  expect(metrics).not.toMatch(/^cordon_alerts_accepted_total\{/m);
  const rejected = metrics
    .split('\n')
    .filter((l) => l.startsWith('cordon_alerts_rejected_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  expect(rejected).toBe(alertRequests);
  expect(sample(metrics, 'cordon_alerts_rejected_total', { reason: 'invalid_alert' })).toBeGreaterThan(0);
  let workflows = 0;
  for await (const _ of h.env.client.workflow.list()) workflows += 1;
  expect(workflows).toBe(0);
}, 600_000);
