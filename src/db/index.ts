import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { MIGRATIONS } from './migrations';

/** The SQL surface Cordon uses; PGlite and node-postgres both satisfy it. */
export interface Database {
  /** `embedded` (PGlite in the data folder or memory) or `postgres` (DATABASE_URL). */
  readonly kind: 'embedded' | 'postgres';
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  close(): Promise<void>;
}

async function migrate(db: Database): Promise<Database> {
  for (const statement of MIGRATIONS) await db.query(statement);
  return db;
}

/** Opens PostgreSQL at `url`, or PGlite under `dataDir` (in memory when dataDir is omitted). */
export async function openDatabase(options: { url?: string; dataDir?: string }): Promise<Database> {
  if (options.url) {
    const pool = new Pool({ connectionString: options.url, max: 10 });
    return migrate({
      kind: 'postgres',
      query: (sql, params) => pool.query(sql, params as unknown[]) as never,
      close: () => pool.end(),
    });
  }
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = path.join(options.dataDir, 'audit-db');
    mkdirSync(dataDir, { recursive: true });
  }
  const lite = new PGlite(dataDir);
  await lite.waitReady;
  return migrate({
    kind: 'embedded',
    query: (sql, params) => lite.query(sql, params) as never,
    close: () => lite.close(),
  });
}
