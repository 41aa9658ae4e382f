// docker-compose.yml runs the topology of `npm run cluster`: the same Temporal services from the
// same config file, Cordon's workers and intakes with the cluster's settings, files that the
// credentials job really writes, and ports on loopback only. No Docker engine needed.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_SHARES, ISSUED_DIR } from '../src/cluster/credentials';
import { TEMPORAL_SERVICES } from '../src/cluster/temporal';
import { PROJECT_ROOT } from '../src/temporal/binaries';

interface Mount {
  type: string;
  source: string;
  target: string;
  read_only?: boolean;
  volume?: { subpath?: string };
}

interface Service {
  image?: string;
  hostname?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: (string | Mount)[];
  ports?: string[];
}

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const env = (service: Service, name: string) => String(service.environment?.[name] ?? '');
const after = (args: string[] | undefined, flag: string) => args?.[args.indexOf(flag) + 1];

/** How a service mounts a share of the credentials volume (the job mounts all of it, short form). */
const credentialsMount = (service: Service) =>
  service.volumes?.find((v): v is Mount => typeof v !== 'string' && v.source === 'credentials');
const credentialsShare = (service: Service) => credentialsMount(service)?.volume?.subpath;

const temporalServices = services.filter(([, s]) => s.command?.[0] === 'temporal-server');
const cordonServices = services.filter(([, s]) => s.environment?.CORDON_ROLE);

/**
 * A job's command with its sources for the compiled script: the image runs `node dist/X.js`
 * (`npm run build`), this test runs X.ts through tsx (test/dockerfile.test.ts checks the build
 * compiles the one into the other).
 */
function fromSources([node, script, ...args]: string[]): string[] {
  const source = /^dist\/(.+)\.js$/.exec(script)?.[1];
  if (node !== 'node' || !source) throw new Error(`expected node dist/….js, got ${node} ${script}`);
  return [process.execPath, '-r', 'tsx/cjs', `${source}.ts`, ...args];
}
const credentialsJob = fromSources(compose.services.credentials.entrypoint!);

// cluster.yaml's variables: `{{ env "NAME" }}`, optional when piped to `default`.
const clusterYaml = read('config/temporal/cluster.yaml');
const variables = [...clusterYaml.matchAll(/\{\{ env "(CORDON_CLUSTER_\w+)"( \| default)?/g)];
const required = new Set(variables.filter((m) => !m[2]).map((m) => m[1]));
const known = new Set(variables.map((m) => m[1]));

/** Where `file` (a path inside the container) comes from on the host, through a bind mount. */
function hostPath(service: Service, file: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    if (typeof volume !== 'string') continue;
    const [source, target] = volume.split(':');
    if (source.startsWith('./') && file.startsWith(`${target}/`)) return path.join(source, file.slice(target.length));
  }
  return undefined;
}

describe('docker-compose.yml: the Temporal server', () => {
  it('runs each service of the local cluster as its own container, named after it', () => {
    const started = temporalServices.map(([name, s]) => [name, after(s.command, '--service')]);
    expect(started.map(([, service]) => service).sort()).toEqual([...TEMPORAL_SERVICES].sort());
    for (const [name, service] of started) expect(name).toBe(`temporal-${service}`);
  });

  it('starts every service from config/temporal/cluster.yaml and its dynamic config, mounted', () => {
    for (const [name, s] of temporalServices) {
      const config = after(s.command, '--config-file')!;
      expect(hostPath(s, config), name).toBe('config/temporal/cluster.yaml');
      expect(hostPath(s, env(s, 'CORDON_CLUSTER_DYNAMIC_CONFIG')), name).toBe('config/temporal/dynamicconfig.yaml');
    }
  });

  it('pins the server and schema tool images to the version `npm run cluster` builds', () => {
    const version = /^SERVER_VERSION=v(\S+)$/m.exec(read('scripts/build-temporal-server.sh'))![1];
    for (const [, s] of temporalServices) expect(s.image).toBe(`temporalio/server:${version}`);
    expect(compose.services['temporal-schema'].image).toBe(`temporalio/admin-tools:${version}`);
  });

  it('sets every variable cluster.yaml needs, and none it does not read, for every service', () => {
    expect(required.size).toBeGreaterThan(10);
    for (const [name, s] of temporalServices) {
      const missing = [...required].filter((variable) => !env(s, variable));
      expect(missing, name).toEqual([]);
      const unknown = Object.keys(s.environment!).filter((k) => k.startsWith('CORDON_CLUSTER_') && !known.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('announces each service at its own container when it binds every interface', () => {
    for (const [name, s] of temporalServices) {
      expect(env(s, 'CORDON_CLUSTER_BIND_IP'), name).toBe('0.0.0.0');
      expect(s.hostname, name).toBe(name);
      expect(env(s, 'CORDON_CLUSTER_BROADCAST_ADDRESS'), name).toBe(name);
    }
  });
});

describe('docker-compose.yml: Cordon', () => {
  const frontend = compose.services['temporal-frontend'];
  const roles = cordonServices.map(([, s]) => env(s, 'CORDON_ROLE'));

  it('runs two workers and two intakes, as `npm run cluster` does', () => {
    expect(roles.filter((role) => role === 'worker')).toHaveLength(2);
    expect(roles.filter((role) => role === 'intake')).toHaveLength(2);
    expect(roles).toHaveLength(4);
    for (const [name, s] of cordonServices) expect(name).toMatch(new RegExp(`^cordon-${env(s, 'CORDON_ROLE')}-\\d$`));
  });

  it('gives each process the cluster settings of src/cluster/cordon.ts, reaching the frontend by a name its certificate holds', () => {
    for (const [name, s] of cordonServices) {
      expect(env(s, 'TEMPORAL_ADDRESS'), name).toBe(env(frontend, 'CORDON_CLUSTER_FRONTEND_ADDRESS'));
      expect(after(credentialsJob, '--host'), name).toBe(env(s, 'TEMPORAL_TLS_SERVER_NAME'));
      expect(new URL(env(s, 'DATABASE_URL').replace(/\$\{[^}]+\}/g, 'x')).pathname, name).toBe('/cordon');
      for (const file of ['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE'])
        expect(env(s, file), `${name} ${file}`).toMatch(/^\/credentials\/tls\//);
      for (const file of ['TEMPORAL_API_KEY_FILE', 'CORDON_PAYLOAD_KEYS_FILE', 'CORDON_AUDIT_SIGNING_KEY_FILE'])
        expect(env(s, file), `${name} ${file}`).toMatch(/^\/credentials\//);
    }
    // One payload key and one signing key for all: a case written by one process is read by any.
    expect(new Set(cordonServices.map(([, s]) => env(s, 'CORDON_PAYLOAD_KEYS_FILE'))).size).toBe(1);
    expect(new Set(cordonServices.map(([, s]) => env(s, 'CORDON_AUDIT_SIGNING_KEY_FILE'))).size).toBe(1);
  });

  it('publishes ports on loopback only', () => {
    const published = services.flatMap(([name, s]) => (s.ports ?? []).map((port) => [name, port]));
    expect(published.length).toBeGreaterThanOrEqual(4);
    for (const [name, port] of published) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const intakes = cordonServices.filter(([, s]) => env(s, 'CORDON_ROLE') === 'intake');
    for (const [name, s] of intakes)
      expect(
        s.ports?.map((p) => p.split(':')[2]),
        name,
      ).toEqual([env(s, 'CORDON_HTTP_PORT')]);
  });
});

// Without this process's Temporal settings: the jobs see only what a test gives them.
const jobEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));

function runJob(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(args[0], args.slice(1), { cwd: PROJECT_ROOT, env: jobEnv }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe('the credentials job', () => {
  let dir: string;
  // What the job issued, and a share's copy of it.
  const file = (name: string) => path.join(dir, ISSUED_DIR, name);
  const shared = (share: string, name: string) => path.join(dir, share, name);
  const job = (...extra: string[]) =>
    runJob([...credentialsJob.map((arg) => (arg === '/credentials' ? dir : arg)), ...extra]);
  const jwks = () => createLocalJWKSet(JSON.parse(readFileSync(file('jwks.json'), 'utf8')) as JSONWebKeySet);
  const token = (name: string) => readFileSync(file(`${name}.jwt`), 'utf8');

  beforeAll(async () => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-credentials-')), 'credentials');
    expect(await job()).toMatchObject({ code: 0 });
  });
  afterAll(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  // cluster.yaml's own names under CORDON_CLUSTER_TLS_DIR.
  const clusterTlsFiles = [...clusterYaml.matchAll(/"CORDON_CLUSTER_TLS_DIR" }}\/([\w.-]+)/g)].map(
    (m) => `tls/${m[1]}`,
  );
  /** The files a service reads from /credentials: its settings name them, or cluster.yaml does. */
  const readsFromCredentials = (s: Service) => {
    const named = Object.entries(s.environment ?? {})
      .filter(([variable]) => variable !== 'CORDON_CLUSTER_TLS_DIR')
      .map(([, value]) => String(value))
      .filter((value) => /^(file:\/\/)?\/credentials\//.test(value))
      .map((value) => value.replace(/^(file:\/\/)?\/credentials\//, ''));
    const tls = env(s, 'CORDON_CLUSTER_TLS_DIR') === '/credentials/tls' ? clusterTlsFiles : [];
    return [...new Set([...named, ...tls])].sort();
  };
  const mounting = services.filter(([, s]) => credentialsMount(s) !== undefined);
  const filesUnder = (dir: string) =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((name) => statSync(path.join(dir, name)).isFile())
      .sort();

  it('writes every file a container reads into the share that container mounts', () => {
    expect(clusterTlsFiles).toEqual(
      expect.arrayContaining(['tls/frontend.pem', 'tls/frontend.key', 'tls/ca.pem', 'tls/internode.pem']),
    );
    const without = services.filter(([, s]) => credentialsMount(s) === undefined).map(([name]) => name);
    expect(without.sort()).toEqual(['credentials', 'postgresql', 'temporal-schema']);
    for (const [name, s] of mounting) {
      expect(credentialsMount(s), name).toMatchObject({ type: 'volume', target: '/credentials', read_only: true });
      const share = credentialsShare(s)!;
      for (const relative of readsFromCredentials(s)) {
        expect(existsSync(shared(share, relative)), `${name}: ${share}/${relative}`).toBe(true);
        // Given the whole volume by mistake, the container finds nothing and stops.
        expect(existsSync(path.join(dir, relative)), `${name}: ${relative} at the top`).toBe(false);
      }
    }
  });

  it('mounts for each container only its share, holding just the files it reads: the admin token for the namespace job alone', () => {
    // The whole volume only for the job that writes it.
    const whole = services.filter(([, s]) =>
      s.volumes?.some((v) => typeof v === 'string' && v.startsWith('credentials:')),
    );
    expect(whole.map(([name]) => name)).toEqual(['credentials']);
    expect(new Set(mounting.map(([, s]) => credentialsShare(s)))).toEqual(new Set(Object.keys(CREDENTIAL_SHARES)));
    for (const [name, s] of mounting)
      expect(filesUnder(path.join(dir, credentialsShare(s)!)), name).toEqual(readsFromCredentials(s));
    const holdingAdmin = mounting.filter(([, s]) => existsSync(shared(credentialsShare(s)!, 'admin.jwt')));
    expect(holdingAdmin.map(([name]) => name)).toEqual(['temporal-namespace']);
  });

  it('mints tokens that verify against the JWKS the frontend reads, with the permissions of the local cluster', async () => {
    const granted: Record<string, string[]> = {
      cordon: ['default:write'],
      operator: ['default:write'],
      reader: ['default:read'],
      admin: ['temporal-system:admin'],
    };
    for (const [name, permissions] of Object.entries(granted)) {
      const { payload } = await jwtVerify(token(name), jwks(), { audience: 'cordon' });
      expect(payload.permissions, name).toEqual(permissions);
      // As long as the certificates: nothing renews either while the stack runs.
      expect(payload.exp! - payload.iat!, name).toBe(30 * 24 * 3600);
      expect(statSync(file(`${name}.jwt`)).mode & 0o077, name).toBe(0);
    }
  });

  it('issues a frontend certificate for its compose name, signed by the CA, and keeps no CA key', () => {
    const ca = new X509Certificate(readFileSync(file('tls/ca.pem')));
    const frontend = new X509Certificate(readFileSync(file('tls/frontend.pem')));
    expect(frontend.subjectAltName).toContain('DNS:temporal-frontend');
    expect(frontend.verify(ca.publicKey)).toBe(true);
    for (const client of ['cordon', 'operator'])
      expect(new X509Certificate(readFileSync(file(`tls/${client}.pem`))).verify(ca.publicKey), client).toBe(true);
    expect(existsSync(file('tls/ca.key'))).toBe(false);
  });

  it('keeps everything when run again, and --renew replaces certificates and tokens but never the keys', async () => {
    // Paths in the volume: what the job issued, and Cordon's share of it.
    const issued = (name: string) => `${ISSUED_DIR}/${name}`;
    const watched = ['jwks.json', 'cordon.jwt', 'tls/ca.pem', 'payload-keys', 'audit-signing.key'].map(issued);
    const snapshot = () =>
      Object.fromEntries([...watched, 'cordon/cordon.jwt'].map((n) => [n, readFileSync(path.join(dir, n), 'utf8')]));
    const first = snapshot();
    // A file a share does not list (as if an older job had put it there) goes at the next run.
    writeFileSync(shared('cordon', 'admin.jwt'), token('admin'));
    expect(await job()).toMatchObject({ code: 0, stderr: expect.stringContaining('kept') });
    expect(snapshot()).toEqual(first);
    expect(existsSync(shared('cordon', 'admin.jwt'))).toBe(false);

    expect(await job('--renew')).toMatchObject({ code: 0, stderr: expect.stringContaining('issued') });
    const renewed = snapshot();
    for (const name of [issued('jwks.json'), issued('cordon.jwt'), issued('tls/ca.pem'), 'cordon/cordon.jwt'])
      expect(renewed[name], name).not.toBe(first[name]);
    for (const key of [issued('payload-keys'), issued('audit-signing.key')]) expect(renewed[key], key).toBe(first[key]);
    // The old token is signed by a key the new JWKS no longer holds.
    await expect(jwtVerify(first[issued('cordon.jwt')], jwks(), { audience: 'cordon' })).rejects.toThrow();
    expect(decodeJwt(token('cordon')).sub).toBe('cordon');
    const frontend = new X509Certificate(readFileSync(file('tls/frontend.pem')));
    expect(frontend.subjectAltName).toContain('DNS:temporal-frontend');
    // Every share carries the renewed files, each as private as its original.
    for (const [share, files] of Object.entries(CREDENTIAL_SHARES))
      for (const name of files) {
        const copy = shared(share, name);
        expect(readFileSync(copy, 'utf8'), `${share}/${name}`).toBe(readFileSync(file(name), 'utf8'));
        expect(statSync(copy).mode & 0o777, `${share}/${name}`).toBe(statSync(file(name)).mode & 0o777);
      }
  });

  it('refuses bad arguments and a namespace job without settings with exit 2, naming the problem', async () => {
    const node = credentialsJob.slice(0, 4);
    expect(await runJob([...node, 'credentials'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('credentials takes one directory'),
    });
    expect(await runJob([...node, 'credentials', dir, '--hots', 'x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("'--hots'"),
    });
    expect(await runJob([...node, 'namespace'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('TEMPORAL_ADDRESS is required'),
    });
  });
});
