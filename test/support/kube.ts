// A real Kubernetes API server for the connector tests: etcd and kube-apiserver (built from the Go
// module proxy by scripts/build-kube-servers.sh) on free loopback ports, with a static token file,
// service-account signing keys made at start, RBAC, and a serving certificate of its own.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../activities/connectors/kubernetes/client';
import { freePort, ROOT } from './processes';

/** A running API server: where it is, its CA, the tokens of its two users, the key its tokens are signed with. */
export interface KubeTestServer {
  url: string;
  caFile: string;
  /** In `system:masters`: sets fixtures up. */
  adminToken: string;
  /** The user `cordon`, with no permission until a test binds it. */
  cordonToken: string;
  /** The service-account signing key (legacy token Secrets are signed with it in tests). */
  signingKey: KeyObject;
  /** A client acting as the admin. */
  admin: KubeClient;
  stop(): Promise<void>;
}

const BUILD_HELP =
  'kube-apiserver and etcd are not built. Run `npm run setup -- --test-servers` (or `bash scripts/build-kube-servers.sh`): ' +
  'it builds both from the Go module proxy into a cache outside the checkout (needs Go 1.26+; about 13 minutes on 2 cores).';

/** The folder holding the built binaries; a clear error (how to build them) when they are missing. */
export function kubeServersDir(): string {
  const script = path.join(ROOT, 'scripts', 'build-kube-servers.sh');
  const dir = execFileSync('bash', [script, '--dir'], { encoding: 'utf8' }).trim();
  for (const binary of ['kube-apiserver', 'etcd'])
    if (!existsSync(path.join(dir, binary))) throw new Error(`${BUILD_HELP} (missing: ${path.join(dir, binary)})`);
  return dir;
}

/** A child process whose output is kept (its last 8 KB) for the error when it fails to start. */
function launch(binary: string, args: string[]) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-8192));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, output: () => tail };
}

/** Polls `ready` until it answers true; fails early when the process exits, late after `timeoutMs`. */
async function waitFor(
  what: string,
  proc: { child: ChildProcess; output: () => string },
  ready: () => Promise<boolean>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited early:\n${proc.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs / 1000} s:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function startEtcd(dir: string, work: string) {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const etcd = launch(path.join(dir, 'etcd'), [
    '--name=test',
    `--data-dir=${path.join(work, 'etcd')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=test=${peerUrl}`,
    '--log-level=error',
    '--unsafe-no-fsync',
  ]);
  const healthy = async () =>
    ((await (await fetch(`${clientUrl}/health`)).json()) as { health?: string }).health === 'true';
  await waitFor('etcd', etcd, healthy, 60_000);
  return { ...etcd, url: clientUrl };
}

/** Starts etcd and kube-apiserver on loopback and waits for `/readyz` (up to 120 s on a loaded machine). */
export async function startKubeApiServer(): Promise<KubeTestServer> {
  const dir = kubeServersDir();
  const work = mkdtempSync(path.join(tmpdir(), 'cordon-kube-'));
  const adminToken = randomBytes(24).toString('hex');
  const cordonToken = randomBytes(24).toString('hex');
  writeFileSync(
    path.join(work, 'tokens.csv'),
    `${adminToken},admin,admin,"system:masters"\n${cordonToken},cordon,cordon\n`,
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(work, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(path.join(work, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const etcd = await startEtcd(dir, work);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const caFile = path.join(work, 'certs', 'apiserver.crt');
  const api = launch(path.join(dir, 'kube-apiserver'), [
    `--etcd-servers=${etcd.url}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(work, 'certs')}`,
    `--token-auth-file=${path.join(work, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${path.join(work, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(work, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ]);
  const admin = new KubeClient({ server: url, token: adminToken, caFile });
  const stop = async () => {
    api.child.kill('SIGTERM');
    await api.exited;
    etcd.child.kill('SIGTERM');
    await etcd.exited;
    rmSync(work, { recursive: true, force: true });
  };
  try {
    // The certificate is written at start; the client reads it once, so wait for it first.
    await waitFor('kube-apiserver', api, async () => existsSync(caFile), 60_000);
    await waitFor(
      'kube-apiserver',
      api,
      async () => (await admin.call('GET', '/readyz', { allow: [500] })).status === 200,
      120_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, caFile, adminToken, cordonToken, signingKey: privateKey, admin, stop };
}
