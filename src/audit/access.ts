// Where the CLI reads the audit store: PostgreSQL directly; the embedded PGlite through the
// running service (it owns the database), or directly when no service holds it.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db';
import type { Logger } from '../log';
import type { AuditEntry } from './entry';
import { readSignedHeads } from './heads';
import type { SignedHead } from './signing';
import { readEntries, type AuditFilter } from './store';
import { clientAuditToken } from './token';

const lockFile = (config: Config) => path.join(config.CORDON_DATA_DIR, 'service.json');

/** The data dir's lock: which service owns its embedded stores, and its dev server's process. */
interface ServiceLock {
  pid: number;
  url: string;
  devServerPid?: number;
}

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function readLock(config: Config): ServiceLock | undefined {
  if (!existsSync(lockFile(config))) return undefined;
  try {
    return JSON.parse(readFileSync(lockFile(config), 'utf8')) as ServiceLock;
  } catch {
    return undefined; // half-written by a process that died writing it: nobody's
  }
}

/** Whether this process's embedded stores (PGlite, the dev server's SQLite) live in the data dir. */
export const usesDataDir = (config: Config) => !config.DATABASE_URL || !config.TEMPORAL_ADDRESS;

/** The pid of another running service that owns the data dir, if one does. */
export function dataDirOwner(config: Config): number | undefined {
  const lock = usesDataDir(config) ? readLock(config) : undefined;
  return lock && lock.pid !== process.pid && alive(lock.pid) ? lock.pid : undefined;
}

// A dev server whose service died without stopping it (it runs in its own process group) still
// holds the port and the SQLite file: stop it, but only if it is that dev server.
async function stopLeftoverDevServer(pid: number | undefined, logger: Logger): Promise<void> {
  let cmdline: string[];
  try {
    cmdline = pid ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') : [];
  } catch {
    return; // gone, or not a system with /proc: nothing of ours to stop
  }
  if (!cmdline.includes('start-dev')) return;
  logger.warn({ pid }, 'stopping the dev server a Cordon that did not stop cleanly left running');
  const gone = async (ms: number) => {
    for (let waited = 0; alive(pid) && waited < ms; waited += 100) await new Promise((r) => setTimeout(r, 100));
    return !alive(pid);
  };
  process.kill(pid!, 'SIGTERM');
  if (await gone(10_000)) return;
  process.kill(pid!, 'SIGKILL');
  await gone(10_000);
}

/** This process's claim on the data dir: released at the end of shutdown. */
export interface DataDirClaim {
  /** Records the embedded dev server, so a next start can stop it if this process dies first. */
  devServer(pid: number): void;
  release(): void;
}

/**
 * Claims the data dir for this process. A lock a dead process left is reported and replaced (with
 * its dev server stopped); one a live process holds is refused earlier, by `dataDirOwner`.
 */
export async function claimDataDir(config: Config, logger: Logger): Promise<DataDirClaim> {
  const file = lockFile(config);
  const left = readLock(config);
  if (left) {
    logger.warn(
      { file, pid: left.pid },
      'replacing the lock of a Cordon that did not stop cleanly (its process is gone)',
    );
    await stopLeftoverDevServer(left.devServerPid, logger);
  }
  const lock: ServiceLock = { pid: process.pid, url: `http://127.0.0.1:${config.CORDON_HTTP_PORT}` };
  mkdirSync(config.CORDON_DATA_DIR, { recursive: true });
  const write = () => writeFileSync(file, JSON.stringify(lock));
  write();
  return {
    devServer: (pid) => ((lock.devServerPid = pid), write()),
    release: () => rmSync(file, { force: true }),
  };
}

/**
 * The intake URL of the service that owns the embedded store, if one runs. With DATABASE_URL no
 * service owns the store: every process uses PostgreSQL directly.
 */
export function runningService(config: Config): string | undefined {
  if (config.DATABASE_URL) return undefined;
  const lock = readLock(config);
  return lock && alive(lock.pid) ? lock.url : undefined;
}

// Reads through the running service when it owns the embedded store, else from the store itself.
async function readAudit<T>(
  config: Config,
  route: string,
  query: Record<string, string | undefined>,
  direct: (db: Database) => Promise<T>,
): Promise<T> {
  const service = runningService(config);
  if (service) {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined) as [string, string][]);
    const token = clientAuditToken(config);
    const res = await fetch(`${service}${route}?${params}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (res.status === 401) throw new Error('the service refused the audit token: set CORDON_AUDIT_TOKEN to its token');
    if (!res.ok) throw new Error(`the service answered ${res.status} for ${route}`);
    return (await res.json()) as T;
  }
  const db = await openDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.CORDON_MIGRATION_DATABASE_URL,
    dataDir: config.CORDON_DATA_DIR,
  });
  try {
    return await direct(db);
  } finally {
    await db.close();
  }
}

/** Reads audit entries from wherever the store can be read safely. */
export const fetchAuditEntries = (config: Config, filter: AuditFilter): Promise<AuditEntry[]> =>
  readAudit(config, '/v1/audit/entries', { ...filter }, (db) => readEntries(db, filter));

/** Reads the stored head signatures (of one workflow, or all). */
export const fetchSignedHeads = (config: Config, workflowId?: string): Promise<SignedHead[]> =>
  readAudit(config, '/v1/audit/heads', { workflowId }, (db) => readSignedHeads(db, workflowId));
