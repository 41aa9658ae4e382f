// Where the CLI reads the audit store: PostgreSQL directly; the embedded PGlite through the
// running service (it owns the database), or directly when no service holds it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db';
import type { AuditEntry } from './entry';
import { readSignedHeads } from './heads';
import type { SignedHead } from './signing';
import { readEntries, type AuditFilter } from './store';
import { clientAuditToken } from './token';

const lockFile = (config: Config) => path.join(config.CORDON_DATA_DIR, 'service.json');

/** Records that this process owns the embedded database and where its intake listens. */
export function claimDataDir(config: Config): () => void {
  const file = lockFile(config);
  writeFileSync(file, JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${config.CORDON_HTTP_PORT}` }));
  return () => rmSync(file, { force: true });
}

/**
 * The intake URL of the service that owns the embedded store, if one runs. With DATABASE_URL no
 * service owns the store: every process uses PostgreSQL directly.
 */
export function runningService(config: Config): string | undefined {
  if (config.DATABASE_URL || !existsSync(lockFile(config))) return undefined;
  const { pid, url } = JSON.parse(readFileSync(lockFile(config), 'utf8')) as { pid: number; url: string };
  try {
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined; // a stale file from a crashed service
  }
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
