import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceToken } from '../src/cli/tokens';
import { ConfigFileError } from '../src/policy/load';
import { authenticate } from '../src/intake/authenticate';
import { decodeJsonBody, MAX_JSON_DEPTH } from '../src/intake/body';
import { RateLimiter } from '../src/intake/rateLimit';
import { hashToken, loadSources, newToken, type Source } from '../src/intake/sources';

const nest = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('decodeJsonBody', () => {
  it('decodes UTF-8 JSON up to the depth limit', () => {
    expect(decodeJsonBody(Buffer.from('{"name":"café"}'))).toEqual({ ok: true, value: { name: 'café' } });
    expect(decodeJsonBody(Buffer.from(nest(MAX_JSON_DEPTH))).ok).toBe(true);
  });

  it.each([
    [
      'invalid UTF-8',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      'invalid_encoding',
      'is not valid UTF-8',
    ],
    ['a lone surrogate', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'invalid_encoding', 'is not valid UTF-8'],
    ['an empty body', Buffer.alloc(0), 'invalid_json', 'is empty; send a JSON object'],
    ['broken JSON', Buffer.from('{"token":"sk-live-secret"'), 'invalid_json', 'is not valid JSON (at byte 25)'],
    [
      '__proto__',
      Buffer.from('{"evidence":{"__proto__":{"admin":true}}}'),
      'invalid_json',
      'contains a forbidden key (__proto__ or constructor.prototype)',
    ],
    [
      'constructor.prototype',
      Buffer.from('{"constructor":{"prototype":{"admin":true}}}'),
      'invalid_json',
      'contains a forbidden key (__proto__ or constructor.prototype)',
    ],
    [
      'an unpaired surrogate escape',
      Buffer.from('{"identity":{"id":"svc\\ud800"}}'),
      'invalid_json',
      'holds an unpaired UTF-16 surrogate escape (at identity.id)',
    ],
    [
      'deep nesting',
      Buffer.from(nest(MAX_JSON_DEPTH + 1)),
      'invalid_json',
      `nests deeper than ${MAX_JSON_DEPTH} levels (at ${Array(MAX_JSON_DEPTH).fill('a').join('.')})`,
    ],
  ])('refuses %s with a message that quotes nothing from the body', (_name, raw, reason, message) => {
    expect(decodeJsonBody(raw)).toEqual({ ok: false, reason, problem: { field: '(body)', message } });
  });

  it('measures 100,000 levels of nesting without overflowing the stack', () => {
    expect(decodeJsonBody(Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toMatchObject({
      ok: false,
      reason: 'invalid_json',
    });
  });
});

describe('authenticate', () => {
  const siem = newToken();
  const rotated = newToken();
  const sources: Source[] = [
    {
      name: 'siem',
      formats: ['native', 'ocsf'],
      tokens: [siem.hash, rotated.hash],
      rateLimit: { perSecond: 1, burst: 1 },
    },
    {
      name: 'github',
      formats: ['github'],
      tokens: [],
      hmacKey: Buffer.from('webhook-key'),
      rateLimit: { perSecond: 1, burst: 1 },
    },
  ];
  const body = Buffer.from('{"action":"created"}');
  const sign = (raw: Buffer, key = 'webhook-key') => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

  it('knows a source by any of its bearer tokens', () => {
    expect(authenticate(sources, { authorization: `Bearer ${siem.token}` }, body, '10.0.0.9')).toEqual({
      ok: true,
      source: sources[0],
    });
    expect(authenticate(sources, { authorization: `bearer ${rotated.token}` }, body, '10.0.0.9')).toEqual({
      ok: true,
      source: sources[0],
    });
  });

  it('knows a source by an HMAC over the exact body bytes', () => {
    expect(authenticate(sources, { 'x-hub-signature-256': sign(body) }, body, '10.0.0.9')).toEqual({
      ok: true,
      source: sources[1],
    });
    const tampered = Buffer.from('{"action":"createD"}');
    expect(authenticate(sources, { 'x-hub-signature-256': sign(body) }, tampered, '10.0.0.9')).toEqual({
      ok: false,
      reason: 'signature matches no source',
    });
    expect(authenticate(sources, { 'x-hub-signature-256': sign(body, 'other-key') }, body, '10.0.0.9').ok).toBe(false);
  });

  it.each([
    [{}, 'no credentials: send Authorization: Bearer <token> or X-Hub-Signature-256'],
    [{ authorization: 'Bearer cdn_not-a-real-token' }, 'unknown bearer token'],
    [{ authorization: 'Basic dXNlcjpwYXNz' }, 'authorization header is not "Bearer <token>"'],
    [{ 'x-hub-signature-256': 'sha1=abc' }, 'X-Hub-Signature-256 is not "sha256=<64 hex digits>"'],
  ])('refuses %j', (headers, reason) => {
    expect(authenticate(sources, headers, body, '127.0.0.1')).toEqual({ ok: false, reason });
  });

  it('without sources, admits loopback clients only', () => {
    expect(authenticate(undefined, {}, body, '127.0.0.1')).toEqual({ ok: true });
    expect(authenticate(undefined, {}, body, '::1')).toEqual({ ok: true });
    expect(authenticate(undefined, {}, body, '10.0.0.9')).toEqual({
      ok: false,
      reason: 'no sources configured: only loopback clients may post',
    });
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then answers how long to wait, and refills at the sustained rate', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const rate = { perSecond: 0.5, burst: 2 };
    expect([limiter.take('siem', rate), limiter.take('siem', rate), limiter.take('siem', rate)]).toEqual([0, 0, 2]);
    expect(limiter.take('github', rate)).toBe(0); // buckets are per source
    now = 2_000;
    expect([limiter.take('siem', rate), limiter.take('siem', rate)]).toEqual([0, 2]);
  });
});

describe('sources file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-sources-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('loads sources with defaults and reads HMAC keys from the environment or a file', () => {
    process.env.TEST_GITHUB_KEY = 'from-env';
    const keyFile = write('key', 'from-file\n');
    const file = write(
      'ok.yaml',
      `sources:\n  - name: siem\n    tokens: ["${hashToken('t')}"]\n  - name: github\n    formats: [github]\n    hmacSecret: { env: TEST_GITHUB_KEY }\n  - name: falco\n    hmacSecret: { file: ${keyFile} }\n`,
    );
    const [siem, github, falco] = loadSources(file);
    expect(siem).toMatchObject({
      formats: ['native', 'ocsf', 'github', 'guardduty', 'falco'],
      rateLimit: { perSecond: 50, burst: 200 },
    });
    expect(github.hmacKey?.toString()).toBe('from-env');
    expect(falco.hmacKey?.toString()).toBe('from-file');
  });

  it.each([
    ['plain token', 'sources:\n  - name: siem\n    tokens: ["hunter2"]\n', 'sources.0.tokens.0'],
    ['no credentials', 'sources:\n  - name: siem\n', 'sources.0'],
    [
      'duplicate names',
      `sources:\n  - name: a\n    tokens: ["${hashToken('1')}"]\n  - name: a\n    tokens: ["${hashToken('2')}"]\n`,
      'sources.1.name',
    ],
    [
      'unset key variable',
      'sources:\n  - name: gh\n    hmacSecret: { env: CORDON_TEST_UNSET_VARIABLE }\n',
      'sources.0.hmacSecret.env',
    ],
    [
      'unknown format',
      `sources:\n  - name: a\n    formats: [syslog]\n    tokens: ["${hashToken('1')}"]\n`,
      'sources.0.formats.0',
    ],
  ])('refuses a file with a %s, naming the field', (_name, text, field) => {
    const file = write(`${field}.yaml`, text);
    expect(() => loadSources(file)).toThrow(ConfigFileError);
    try {
      loadSources(file);
    } catch (err) {
      expect((err as ConfigFileError).problems.map((p) => p.field)).toContain(field);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('accepts the shipped example file', () => {
    process.env.CORDON_GITHUB_WEBHOOK_SECRET = 'example';
    const example = path.resolve(__dirname, '..', 'config', 'sources.example.yaml');
    expect(loadSources(example).map((s) => [s.name, s.formats])).toEqual([
      ['siem', ['native', 'ocsf']],
      ['github', ['github']],
      ['aws-security', ['guardduty']],
      ['falco', ['falco']],
    ]);
  });

  it('`cordon source token` prints a token once and the hash that admits it', () => {
    const text = sourceToken('siem');
    const token = /#\s+(cdn_\S+)/.exec(text)![1];
    const hash = /tokens: \["(sha256:[0-9a-f]{64})"\]/.exec(text)![1];
    expect(hash).toBe(hashToken(token));
    expect(text.match(new RegExp(token, 'g'))).toHaveLength(1);
  });
});
