// How every Cordon process connects to Temporal: TLS, mTLS and a bearer token from a file, checked
// at start-up and refreshed while running.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKeyRefresher, keyFingerprint } from '../src/client/apiKeyRefresh';
import { temporalConnectionOptions } from '../src/client/connect';
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { makeClusterCerts } from '../src/cluster/certs';

const certs = makeClusterCerts(mkdtempSync(path.join(tmpdir(), 'cordon-tls-')));
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

const file = (name: string, content: string) => {
  const at = path.join(certs.dir, name);
  writeFileSync(at, content);
  return at;
};
// Shaped like the JWTs a Temporal authorizer takes; never a real one.
const jwt = (subject: string) =>
  ['eyJhbGciOiJFUzI1NiJ9', Buffer.from(JSON.stringify({ sub: subject })).toString('base64url'), 'c2lnbmF0dXJl'].join(
    '.',
  );
const EXTERNAL = { TEMPORAL_ADDRESS: 'temporal.example:7233' };

/** The variables a configuration error names, with their problems. */
function problemsOf(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return Object.fromEntries(err.problems.map((p) => [p.variable, p.problem]));
    throw err;
  }
  return {};
}

describe('connection options', () => {
  it('connect in plaintext without a token when nothing is set (the embedded dev server)', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({
      address: '127.0.0.1:7233',
      tls: false,
      apiKey: undefined,
    });
  });

  it('carry the CA, the client certificate pair, the server name and the token as configured', () => {
    const token = jwt('cordon-worker');
    const config = loadConfig({
      ...EXTERNAL,
      TEMPORAL_TLS_CA_FILE: certs.ca,
      TEMPORAL_TLS_CERT_FILE: certs.cordon.cert,
      TEMPORAL_TLS_KEY_FILE: certs.cordon.key,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
      TEMPORAL_API_KEY_FILE: file('token', `${token}\n`),
    });
    expect(temporalConnectionOptions(config)).toEqual({
      address: 'temporal.example:7233',
      tls: {
        serverRootCACertificate: readFileSync(certs.ca),
        clientCertPair: { crt: readFileSync(certs.cordon.cert), key: readFileSync(certs.cordon.key) },
        serverNameOverride: 'frontend.temporal.internal',
      },
      apiKey: token,
    });
  });

  it('use TLS with the system roots for a token alone, and plaintext when TEMPORAL_TLS=false says so', () => {
    const tokenFile = file('token-alone', jwt('cordon-intake'));
    const withToken = temporalConnectionOptions(loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: tokenFile }));
    expect(withToken.tls).toEqual({
      serverRootCACertificate: undefined,
      clientCertPair: undefined,
      serverNameOverride: undefined,
    });
    const plain = temporalConnectionOptions(
      loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: tokenFile, TEMPORAL_TLS: 'false' }),
    );
    expect(plain).toMatchObject({ tls: false, apiKey: jwt('cordon-intake') });
    expect(temporalConnectionOptions(loadConfig({ ...EXTERNAL, TEMPORAL_TLS: 'true' })).tls).toEqual({});
  });
});

describe('connection settings refused at start-up', () => {
  it('name the missing half of the client certificate pair, and a key that is not the certificate’s', () => {
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS_CERT_FILE: certs.cordon.cert })).toEqual({
      TEMPORAL_TLS_KEY_FILE: 'is required with TEMPORAL_TLS_CERT_FILE',
    });
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS_KEY_FILE: certs.cordon.key })).toEqual({
      TEMPORAL_TLS_CERT_FILE: 'is required with TEMPORAL_TLS_KEY_FILE',
    });
    expect(
      problemsOf({ ...EXTERNAL, TEMPORAL_TLS_CERT_FILE: certs.cordon.cert, TEMPORAL_TLS_KEY_FILE: certs.operator.key }),
    ).toEqual({ TEMPORAL_TLS_KEY_FILE: `is not the key of ${certs.cordon.cert}'s certificate` });
  });

  it('name a file that is missing, unreadable as what it should be, or a token file that holds more', () => {
    const missing = path.join(certs.dir, 'absent.pem');
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS_CA_FILE: missing })).toEqual({
      TEMPORAL_TLS_CA_FILE: `${missing} does not exist`,
    });
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS_CA_FILE: certs.cordon.key })).toEqual({
      TEMPORAL_TLS_CA_FILE: `${certs.cordon.key} does not hold a PEM certificate`,
    });
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS_CA_FILE: certs.dir })).toEqual({
      TEMPORAL_TLS_CA_FILE: `${certs.dir} is not a file`,
    });
    const bearer = file('bearer-token', `Bearer ${jwt('x')}`);
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: bearer })).toEqual({
      TEMPORAL_API_KEY_FILE: `${bearer} must hold the token alone, without "Bearer "`,
    });
    const empty = file('empty-token', '\n');
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: empty })).toEqual({
      TEMPORAL_API_KEY_FILE: `${empty} is empty`,
    });
  });

  it('refuse TLS and tokens for the embedded dev server, and TEMPORAL_TLS=false beside TLS files', () => {
    const token = file('token-embedded', jwt('x'));
    expect(problemsOf({ TEMPORAL_TLS_CA_FILE: certs.ca, TEMPORAL_API_KEY_FILE: token })).toEqual({
      TEMPORAL_TLS_CA_FILE: expect.stringMatching(/^needs TEMPORAL_ADDRESS: the embedded dev server/),
      TEMPORAL_API_KEY_FILE: expect.stringMatching(/^needs TEMPORAL_ADDRESS/),
    });
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: certs.ca })).toEqual({
      TEMPORAL_TLS: 'is false, but TEMPORAL_TLS_CA_FILE is set',
    });
    expect(problemsOf({ ...EXTERNAL, TEMPORAL_TLS: 'yes' })).toHaveProperty('TEMPORAL_TLS');
  });

  it('refuse a worker or intake role without the shared Temporal, database and keys', () => {
    expect(Object.keys(problemsOf({ CORDON_ROLE: 'intake' })).sort()).toEqual([
      'CORDON_AUDIT_SIGNING_KEY_FILE',
      'CORDON_PAYLOAD_KEYS_FILE',
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
    ]);
    expect(problemsOf({ CORDON_ROLE: 'worker', ...EXTERNAL, CORDON_PAYLOAD_KEYS_FILE: '/k' })).toEqual({
      DATABASE_URL: expect.stringContaining('is required with CORDON_ROLE=worker'),
      CORDON_AUDIT_SIGNING_KEY_FILE: expect.stringContaining('is required with CORDON_ROLE=worker'),
    });
    expect(problemsOf({ CORDON_ROLE: 'scheduler' })).toHaveProperty('CORDON_ROLE');
  });
});

/** A connection as the refresher sees one: it records the tokens it is handed. */
class RecordingConnection {
  readonly keys: string[] = [];
  async setApiKey(key: string): Promise<void> {
    this.keys.push(key);
  }
}

describe('the API key refresher', () => {
  const logged: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logged.push(line) });

  it('hands a changed token to every connection once, keeps it through a bad read, and logs fingerprints only', async () => {
    const first = jwt('rotation-1');
    const second = jwt('rotation-2');
    const tokenFile = file('rotating-token', first);
    const refresher = new ApiKeyRefresher(tokenFile, first, logger);
    const [client, worker] = [new RecordingConnection(), new RecordingConnection()];
    refresher.add(client);
    refresher.add(worker);

    expect(await refresher.refresh()).toBe(false);
    writeFileSync(tokenFile, `${second}\n`);
    expect(await refresher.refresh()).toBe(true);
    expect(await refresher.refresh()).toBe(false);
    // Mid-rotation the file may be empty for a moment: the current token stays.
    writeFileSync(tokenFile, '');
    expect(await refresher.refresh()).toBe(false);
    expect([client.keys, worker.keys]).toEqual([[second], [second]]);

    const text = logged.join('');
    expect(text).toContain('Temporal API key replaced from its file');
    expect(text).toContain(keyFingerprint(second));
    expect(text).toContain('keeping the current token');
    for (const token of [first, second]) expect(text).not.toContain(token);
  });

  it('goes on with the other connections when one refuses the token', async () => {
    const tokenFile = file('token-refused', jwt('a'));
    const refresher = new ApiKeyRefresher(tokenFile, jwt('a'), logger);
    const closed = { setApiKey: () => Promise.reject(new Error('connection closed')) };
    const open = new RecordingConnection();
    refresher.add(closed);
    refresher.add(open);
    writeFileSync(tokenFile, jwt('b'));
    expect(await refresher.refresh()).toBe(true);
    expect(open.keys).toEqual([jwt('b')]);
  });
});
