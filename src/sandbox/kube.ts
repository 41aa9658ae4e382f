// A real Kubernetes API server for the sandbox and the connector tests: etcd and kube-apiserver (built from the Go
// module proxy by scripts/build-kube-servers.sh) on free loopback ports, with a static token file,
// service-account signing keys made at start, RBAC, and a serving certificate of its own.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { declaredPermissions } from '../../activities/connectors/kubernetes';
import { RBAC } from '../../activities/connectors/kubernetes/bindings';
import { KubeClient } from '../../activities/connectors/kubernetes/client';
import { clusterRoleRules } from '../../activities/connectors/kubernetes/permissions';
import { freePort } from '../net';
import { PROJECT_ROOT } from '../temporal/binaries';
import { launch, serverEnvironment, waitUntilReady, type Launched } from './launch';

/** A running API server: where it is, its CA, the tokens of its two users, the key its tokens are signed with. */
export interface KubeApiServer {
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
  const script = path.join(PROJECT_ROOT, 'scripts', 'build-kube-servers.sh');
  const dir = execFileSync('bash', [script, '--dir'], { encoding: 'utf8' }).trim();
  for (const binary of ['kube-apiserver', 'etcd'])
    if (!existsSync(path.join(dir, binary))) throw new Error(`${BUILD_HELP} (missing: ${path.join(dir, binary)})`);
  return dir;
}

async function startEtcd(dir: string, work: string, started: Launched[]): Promise<string> {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const etcd = launch(
    path.join(dir, 'etcd'),
    [
      '--name=test',
      `--data-dir=${path.join(work, 'etcd')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      '--log-level=error',
      '--unsafe-no-fsync',
    ],
    serverEnvironment(),
  );
  started.push(etcd);
  const healthy = async () =>
    ((await (await fetch(`${clientUrl}/health`)).json()) as { health?: string }).health === 'true';
  await waitUntilReady('etcd', etcd, healthy, 60_000);
  return clientUrl;
}

// The API server's credentials, made at each start: two static tokens and the service-account key pair.
function writeCredentials(work: string) {
  const adminToken = randomBytes(24).toString('hex');
  const cordonToken = randomBytes(24).toString('hex');
  writeFileSync(
    path.join(work, 'tokens.csv'),
    `${adminToken},admin,admin,"system:masters"\n${cordonToken},cordon,cordon\n`,
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(work, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(path.join(work, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  return { adminToken, cordonToken, signingKey: privateKey };
}

function launchApiServer(dir: string, work: string, etcdUrl: string, port: number): Launched {
  return launch(
    path.join(dir, 'kube-apiserver'),
    [
      `--etcd-servers=${etcdUrl}`,
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
    ],
    serverEnvironment(),
  );
}

/**
 * Starts etcd and kube-apiserver on loopback and waits for `/readyz` (up to 120 s on a loaded
 * machine). Whatever fails, nothing is left running and the credentials folder is removed.
 */
export async function startKubeApiServer(): Promise<KubeApiServer> {
  const dir = kubeServersDir();
  const work = mkdtempSync(path.join(tmpdir(), 'cordon-kube-'));
  const started: Launched[] = [];
  const stop = async () => {
    for (const proc of started.reverse()) await proc.stop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const credentials = writeCredentials(work);
    const etcd = await startEtcd(dir, work, started);
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const caFile = path.join(work, 'certs', 'apiserver.crt');
    const api = launchApiServer(dir, work, etcd, port);
    started.push(api);
    const admin = new KubeClient({ server: url, token: credentials.adminToken, caFile });
    // The certificate is written at start; the client reads it once, so wait for it first.
    await waitUntilReady('kube-apiserver', api, async () => existsSync(caFile), 60_000);
    const ready = async () => (await admin.call('GET', '/readyz', { allow: [500] })).status === 200;
    await waitUntilReady('kube-apiserver', api, ready, 120_000);
    return { url, caFile, ...credentials, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Lets the user `cordon` do exactly what the connector declares: the README's ClusterRole, bound. */
export async function grantCordon(admin: KubeClient): Promise<void> {
  const post = (path: string, body: unknown) => admin.call('POST', path, { body });
  await post(`${RBAC}/clusterroles`, { metadata: { name: 'cordon' }, rules: clusterRoleRules(declaredPermissions()) });
  await post(`${RBAC}/clusterrolebindings`, {
    metadata: { name: 'cordon' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cordon' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'cordon' }],
  });
}
