// Two roles on PostgreSQL: the owner runs migrations; the service's role may read and append to
// the audit tables but never change, empty or unguard them (UPDATE, DELETE, TRUNCATE and
// ALTER TABLE … DISABLE TRIGGER all need more than it has).
import type { Database } from '.';
import { MIGRATION_LOCK, MIGRATIONS } from './migrations';

/** The tables whose rows, once written, stay as written. */
export const AUDIT_TABLES = ['audit_entries', 'audit_head_signatures'] as const;

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The statements that give `role` what the service needs, and on the audit tables no more than INSERT and SELECT. */
export function serviceRoleGrants(role: string): string[] {
  const r = quoted(role);
  const audit = AUDIT_TABLES.join(', ');
  return [
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${audit} FROM ${r}`,
    `REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM ${r}`,
  ];
}

/** The role a PostgreSQL URL logs in as. */
export function roleOf(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  if (!user)
    throw new Error('DATABASE_URL must name its role (postgres://ROLE@host/db) when migrations run as the owner');
  return user;
}

/** Applies the service role's grants as the owner (after each migration run: new tables get them too). */
export async function grantServiceRole(owner: Database, role: string): Promise<void> {
  await owner.transaction(async (query) => {
    // Held to the end of the transaction: processes starting together grant one after another.
    await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    for (const statement of serviceRoleGrants(role)) await query(statement);
  });
}

/** Refuses to start a service role on a schema its owner has not migrated to this version. */
export async function requireMigrated(db: Database): Promise<void> {
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  const latest = MIGRATIONS.at(-1)!.version;
  if ((rows[0]?.version ?? 0) < latest)
    throw new Error(
      `the schema is at version ${rows[0]?.version ?? 0}, not ${latest}: run the migrations as the owner`,
    );
}
