// A real PostgreSQL server from Debian's packages, on loopback in a temp directory: the cluster's
// persistence and the tests' DATABASE_URL.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../net';
import { killAtExit } from '../sandbox/launch';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  const dir = version && path.join(root, version, 'bin');
  if (!dir || !existsSync(path.join(dir, 'initdb')))
    throw new Error('PostgreSQL server not found: apt-get install postgresql');
  return dir;
}

/** A running server; `url` connects as a superuser to database `postgres`. */
export interface LocalPostgres {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * initdb + postgres on a free port; as root it runs as the `postgres` system user. With
 * `password`, clients authenticate with scram-sha-256 (trust ignores passwords altogether).
 */
export async function startPostgres({
  password,
  maxConnections = 100,
  detached = false,
}: { password?: string; maxConnections?: number; detached?: boolean } = {}): Promise<LocalPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-pg-'));
  // PostgreSQL refuses to run as root: then run it as the `postgres` system user.
  const user: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    user.uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    user.gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, user.uid, user.gid);
  }
  const data = path.join(dir, 'data');
  const auth = password ? ['--auth=scram-sha-256', `--pwfile=${path.join(dir, 'pw')}`] : ['--auth=trust'];
  if (password) {
    writeFileSync(path.join(dir, 'pw'), password);
    if (user.uid !== undefined) chownSync(path.join(dir, 'pw'), user.uid, user.gid!);
  }
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'cordon', ...auth, '-E', 'UTF8'], {
    stdio: 'ignore',
    ...user,
  });
  const port = await freePort();
  const server = spawn(
    path.join(bin, 'postgres'),
    ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-N', String(maxConnections)],
    // `detached`: a process group of its own, stopped by the caller after what uses it.
    { stdio: 'ignore', ...user, detached },
  );
  if (detached) killAtExit(server);
  const exited = new Promise<void>((resolve) => {
    server.once('exit', () => resolve());
    server.once('error', () => resolve());
  });
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null && server.pid) server.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `postgres://cordon${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/postgres`;
  // A loaded 2-core machine may need a while for the first start.
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      execFileSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      break;
    } catch {
      if (Date.now() > deadline || server.exitCode !== null || !server.pid) {
        await stop();
        throw new Error('PostgreSQL did not start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, url, stop };
}
