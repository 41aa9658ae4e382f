import { ApplicationFailure } from '@temporalio/activity';
import { Pool, type PoolClient } from 'pg';

/** Runs one statement on the managed server; rows come back typed by the caller. */
export type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** Names of the failures this connector raises. */
export const PostgresFailure = {
  /** The server could not be reached or is overloaded: retried by Temporal. */
  Unavailable: 'PostgresUnavailable',
  RoleNotFound: 'PostgresRoleNotFound',
  PermissionDenied: 'PostgresPermissionDenied',
  InvalidInput: 'PostgresInvalidInput',
  /** The connector will not act on this role (its own, a predefined role). */
  Refused: 'PostgresRefused',
  /** The action ran but its post-condition does not hold (a concurrent change): retried. */
  NotApplied: 'PostgresNotApplied',
  /** Restoring would bring back a credential that was replaced or revoked since. */
  Conflict: 'PostgresConflict',
  /** Restrict cannot remove what the role holds (owned objects, privileges elsewhere). */
  NotCovered: 'PostgresNotCovered',
  /** The state to restore was deliberately not kept (a password-equivalent md5 verifier). */
  NotRestorable: 'PostgresNotRestorable',
  Error: 'PostgresError',
} as const;

// SQLSTATE classes worth retrying: connection exceptions, insufficient resources (too many
// connections), operator intervention (query canceled by statement_timeout or a cancel request,
// shutdown, cannot connect now), transaction rollback (serialization failure, deadlock), lock not
// available (lock_timeout), system errors. 57014 is query_canceled: the statement waited too long
// (usually on a lock held by someone else), which heals once the other transaction ends.
const RETRYABLE_SQLSTATE = /^(08|53|57014|57P|40|55P03|58)/;

/** Removes anything shaped like a password verifier or a URL password from a message. */
export function redact(message: string): string {
  return message
    .replace(/SCRAM-SHA-256\$[^\s'"]+/g, 'SCRAM-SHA-256$<redacted>')
    .replace(/md5[0-9a-f]{32}/gi, 'md5<redacted>')
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1<redacted>@');
}

/** Maps an error from the managed server to a Temporal failure: retryable only when transient. */
export function toFailure(context: string, err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const raw = redact(String(e?.message ?? err));
  const sqlstate = code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const suffix = code ? ` (${sqlstate ? 'SQLSTATE ' : ''}${code})` : '';
  const fail = (type: string, nonRetryable: boolean, hint = '') =>
    ApplicationFailure.create({ type, message: `PostgreSQL ${context} failed: ${raw}${suffix}${hint}`, nonRetryable });
  // No SQLSTATE: a socket error (ECONNREFUSED, ECONNRESET, ...), a timeout or a dropped connection.
  if (!sqlstate) return fail(PostgresFailure.Unavailable, false);
  if (RETRYABLE_SQLSTATE.test(sqlstate)) return fail(PostgresFailure.Unavailable, false);
  if (sqlstate === '42704') return fail(PostgresFailure.RoleNotFound, true);
  if (sqlstate === '42501' || sqlstate.startsWith('28')) {
    const hint = /pg_authid/.test(raw)
      ? ': the connector role needs SELECT on pg_catalog.pg_authid (superuser, or granted explicitly by a superuser)'
      : '';
    return fail(PostgresFailure.PermissionDenied, true, hint);
  }
  if (sqlstate.startsWith('22') || sqlstate.startsWith('42') || sqlstate === '3D000' || sqlstate.startsWith('0P')) {
    return fail(PostgresFailure.InvalidInput, true);
  }
  // Anything else (dependent privileges exist, feature not supported, ...) will not heal by retrying.
  return fail(PostgresFailure.Error, true);
}

/** A clear permanent failure raised by the connector itself. */
export function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/**
 * The managed server, reached through one lazily created pool. The URL holds a password: it
 * never appears in a message (pg's own errors do not include it either).
 */
export class PostgresAccess {
  private pool?: Pool;

  constructor(private readonly url: string) {}

  private get(): Pool {
    if (!this.pool) {
      this.pool = new Pool({
        connectionString: this.url,
        max: 4,
        connectionTimeoutMillis: 10_000,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
        application_name: 'cordon-connector',
        statement_timeout: 30_000,
      });
      // An idle client whose server went away must not crash the worker; the next call retries.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  /** One statement, errors mapped to Temporal failures under `context`. */
  async query<T = Record<string, unknown>>(context: string, sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const { rows } = await this.get().query(sql, params);
      return rows as T[];
    } catch (err) {
      throw toFailure(context, err);
    }
  }

  /** A `Query` outside any transaction, errors mapped under `context`. */
  reader(context: string): Query {
    return <R>(sql: string, params?: unknown[]) => this.query<R>(context, sql, params);
  }

  /** Runs `work` in one transaction: it commits entirely or not at all. */
  async transaction<T>(context: string, work: (query: Query) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    try {
      client = await this.get().connect();
      await client.query('BEGIN');
      const c = client;
      const query: Query = async <R>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as R[];
      const result = await work(query);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw toFailure(context, err);
    } finally {
      client?.release();
    }
  }

  /** Closes the pool (tests; the worker's process exit does it otherwise). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }
}
