import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { MIGRATION_LOCK, MIGRATIONS } from './migrations';
import { grantServiceRole, requireMigrated, roleOf } from './roles';

export type Query = <Row = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<{ rows: Row[] }>;

/** The SQL surface Cordon uses; PGlite and node-postgres both satisfy it. */
export interface Database {
  /** `embedded` (PGlite in the data folder or memory) or `postgres` (DATABASE_URL). */
  readonly kind: 'embedded' | 'postgres';
  query: Query;
  /** Runs `fn` on one connection (for transactions and session locks). */
  session<T>(fn: (query: Query, exec: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T>;
  /** Runs `fn` in one transaction, rolled back when it throws; embedded, nothing else runs meanwhile. */
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Applies the migrations not yet recorded in `schema_migrations`, each in its own transaction. */
export async function migrate(db: Database): Promise<number[]> {
  return db.session(async (query, exec) => {
    await query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((r) => r.version));
      const ran: number[] = [];
      for (const migration of MIGRATIONS.filter((m) => !applied.has(m.version))) {
        await exec('BEGIN');
        try {
          await exec(migration.sql);
          await query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
            migration.version,
            migration.description,
          ]);
          await exec('COMMIT');
        } catch (err) {
          await exec('ROLLBACK');
          throw new Error(
            `migration ${migration.version} (${migration.description}) failed: ${(err as Error).message}`,
          );
        }
        ran.push(migration.version);
      }
      return ran;
    } finally {
      await query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}

/** Where the store is: PostgreSQL at `url` (migrated as `migrationUrl`'s owner role when given), else PGlite. */
export interface DatabaseOptions {
  url?: string;
  /** The owner's URL: migrations and grants run as it, and `url`'s role gets only the service's grants. */
  migrationUrl?: string;
  /** PGlite's folder (in memory when omitted); PGlite is single-user, so it has no roles. */
  dataDir?: string;
}

/** Opens the store and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url && options.migrationUrl) return openAsServiceRole(options.url, options.migrationUrl);
  const db = options.url ? openPostgres(options.url) : await openPGlite(options.dataDir);
  await migrate(db);
  return db;
}

async function openAsServiceRole(url: string, migrationUrl: string): Promise<Database> {
  const role = roleOf(url);
  if (role === roleOf(migrationUrl))
    throw new Error(
      'DATABASE_URL and CORDON_MIGRATION_DATABASE_URL name the same role: the audit would not be protected',
    );
  const owner = openPostgres(migrationUrl);
  try {
    await migrate(owner);
    await grantServiceRole(owner, role);
  } finally {
    await owner.close();
  }
  const db = openPostgres(url);
  await requireMigrated(db).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  return db;
}

function openPostgres(url: string): Database {
  const pool = new Pool({ connectionString: url, max: 10 });
  // An idle connection the server drops (restart, shutdown) is replaced on next use; unheard,
  // its error event would crash the process.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    query: (sql, params) => pool.query(sql, params as unknown[]) as never,
    async session(fn) {
      const client = await pool.connect();
      try {
        return await fn(
          (sql, params) => client.query(sql, params as unknown[]) as never,
          (sql) => client.query(sql),
        );
      } finally {
        client.release();
      }
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn((sql, params) => client.query(sql, params as unknown[]) as never);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is not given back to the pool.
        await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

async function openPGlite(dataDir?: string): Promise<Database> {
  let dir: string | undefined;
  if (dataDir) {
    dir = path.join(dataDir, 'audit-db');
    mkdirSync(dir, { recursive: true });
  }
  const lite = new PGlite(dir);
  await lite.waitReady;
  const query: Query = (sql, params) => lite.query(sql, params) as never;
  return {
    kind: 'embedded',
    query,
    // PGlite is a single connection: every call is already the same session.
    session: (fn) => fn(query, (sql) => lite.exec(sql)),
    transaction: (fn) => lite.transaction((tx) => fn((sql, params) => tx.query(sql, params) as never)),
    close: () => lite.close(),
  };
}
