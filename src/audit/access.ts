// Where the CLI reads the audit store: PostgreSQL directly; the embedded PGlite through the
// running service (it owns the database), or directly when no service holds it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { openDatabase } from '../db';
import type { AuditEntry } from './entry';
import { readEntries, type AuditFilter } from './store';

const lockFile = (config: Config) => path.join(config.CORDON_DATA_DIR, 'service.json');

/** Records that this process owns the embedded database and where its intake listens. */
export function claimDataDir(config: Config): () => void {
  const file = lockFile(config);
  writeFileSync(file, JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${config.CORDON_HTTP_PORT}` }));
  return () => rmSync(file, { force: true });
}

/** The intake URL of the service that owns the embedded store, if one runs. */
export function runningService(config: Config): string | undefined {
  if (!existsSync(lockFile(config))) return undefined;
  const { pid, url } = JSON.parse(readFileSync(lockFile(config), 'utf8')) as { pid: number; url: string };
  try {
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined; // a stale file from a crashed service
  }
}

/** Reads audit entries from wherever the store can be read safely. */
export async function fetchAuditEntries(config: Config, filter: AuditFilter): Promise<AuditEntry[]> {
  const service = config.DATABASE_URL ? undefined : runningService(config);
  if (service) {
    const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
    const res = await fetch(`${service}/v1/audit/entries?${query}`);
    if (!res.ok) throw new Error(`the service answered ${res.status} for the audit entries`);
    return (await res.json()) as AuditEntry[];
  }
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.CORDON_DATA_DIR });
  try {
    return await readEntries(db, filter);
  } finally {
    await db.close();
  }
}
