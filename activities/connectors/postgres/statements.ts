import { escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { PostgresFailure, refuse, type Query } from './client';
import { ELEVATED_FLAGS, type ElevatedFlag, type Grant, type Membership } from './catalog';

// The statements that change a role: each quotes every identifier and literal it builds.

// Privilege keywords aclexplode reports, all valid in GRANT/REVOKE; anything else is refused.
const PRIVILEGES = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'TRUNCATE',
  'REFERENCES',
  'TRIGGER',
  'USAGE',
  'CREATE',
  'CONNECT',
  'TEMPORARY',
  'EXECUTE',
  'MAINTAIN',
  'SET',
  'ALTER SYSTEM',
]);

// Routine argument lists come from pg_get_function_identity_arguments, which quotes every name;
// anything that could end the statement or start a comment is refused rather than interpolated.
const SAFE_ARGS = /^[^;]*$/;

function objectClause(g: Grant): string {
  const privilege = g.privilege.toUpperCase();
  if (!PRIVILEGES.has(privilege))
    throw refuse(PostgresFailure.InvalidInput, `unexpected privilege "${g.privilege}" on ${g.kind} ${g.name}`);
  switch (g.kind) {
    case 'table':
      return `${privilege} ON TABLE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'sequence':
      return `${privilege} ON SEQUENCE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'schema':
      return `${privilege} ON SCHEMA ${ident(g.name)}`;
    case 'database':
      return `${privilege} ON DATABASE ${ident(g.name)}`;
    case 'column':
      return `${privilege} (${ident(g.column!)}) ON TABLE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'routine':
      if (!SAFE_ARGS.test(g.args ?? '') || /--|\/\*/.test(g.args ?? '')) {
        throw refuse(PostgresFailure.InvalidInput, `unexpected argument list of routine ${g.schema}.${g.name}`);
      }
      return `${privilege} ON ROUTINE ${ident(g.schema!)}.${ident(g.name)}(${g.args ?? ''})`;
    case 'type':
      return `${privilege} ON TYPE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'language':
      return `${privilege} ON LANGUAGE ${ident(g.name)}`;
    case 'foreign data wrapper':
      return `${privilege} ON FOREIGN DATA WRAPPER ${ident(g.name)}`;
    case 'foreign server':
      return `${privilege} ON FOREIGN SERVER ${ident(g.name)}`;
    case 'large object':
      if (!/^\d+$/.test(g.name)) throw refuse(PostgresFailure.InvalidInput, `unexpected large object id "${g.name}"`);
      return `${privilege} ON LARGE OBJECT ${g.name}`;
    case 'parameter':
      return `${privilege} ON PARAMETER ${ident(g.name)}`;
    default:
      throw refuse(PostgresFailure.InvalidInput, `unexpected object kind "${String((g as Grant).kind)}"`);
  }
}

/**
 * Runs `sql` as `grantor` (SET LOCAL ROLE, inside the caller's transaction) unless the connector
 * is the grantor: REVOKE only removes grants made by the current role, and a re-GRANT must be
 * recorded with the original grantor for the ACL to come back exactly.
 */
async function asGrantor(query: Query, grantor: string | null, connector: string, sql: string): Promise<void> {
  const switchRole = grantor !== null && grantor !== connector;
  if (switchRole) await query(`SET LOCAL ROLE ${ident(grantor)}`);
  await query(sql);
  if (switchRole) await query('RESET ROLE');
}

/** REVOKEs one direct grant (RESTRICT: refuses when the role passed it on to others). */
export const revokeGrant = (query: Query, role: string, connector: string, g: Grant) =>
  asGrantor(query, g.grantor, connector, `REVOKE ${objectClause(g)} FROM ${ident(role)}`);

/** Re-GRANTs one captured grant, with its grant option, as its original grantor. */
export const regrant = (query: Query, role: string, connector: string, g: Grant) =>
  asGrantor(
    query,
    g.grantor,
    connector,
    `GRANT ${objectClause(g)} TO ${ident(role)}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
  );

/** Removes one membership; on 16+ the grant of that grantor exactly. */
export const revokeMembership = (query: Query, role: string, m: Membership) =>
  query(
    `REVOKE ${ident(m.role)} FROM ${ident(role)}${m.inherit !== undefined && m.grantor ? ` GRANTED BY ${ident(m.grantor)}` : ''}`,
  );

/** Restores one membership with its options and grantor. */
export function regrantMembership(query: Query, role: string, connector: string, m: Membership) {
  const by = m.grantor && m.grantor !== connector ? ` GRANTED BY ${ident(m.grantor)}` : '';
  const options =
    m.inherit !== undefined
      ? ` WITH ADMIN ${m.admin ? 'TRUE' : 'FALSE'}, INHERIT ${m.inherit ? 'TRUE' : 'FALSE'}, SET ${m.set ? 'TRUE' : 'FALSE'}`
      : m.admin
        ? ' WITH ADMIN OPTION'
        : '';
  return query(`GRANT ${ident(m.role)} TO ${ident(role)}${options}${by}`);
}

/** ALTER ROLE setting the given elevated flags on or off. */
export function alterFlags(query: Query, role: string, flags: ElevatedFlag[], on: boolean) {
  if (!flags.length) return Promise.resolve([]);
  return query(`ALTER ROLE ${ident(role)} ${flags.map((f) => (on ? '' : 'NO') + ELEVATED_FLAGS[f]).join(' ')}`);
}

/** ALTER ROLE … PASSWORD with an already-hashed verifier (or NULL). The value never leaves this call. */
export const setVerifier = (query: Query, role: string, verifier: string | null) =>
  query(`ALTER ROLE ${ident(role)} PASSWORD ${verifier === null ? 'NULL' : literal(verifier)}`);

export const setLogin = (query: Query, role: string, login: boolean) =>
  query(`ALTER ROLE ${ident(role)} ${login ? 'LOGIN' : 'NOLOGIN'}`);

/** Ends every session of the role, waiting up to 5 s each for the backend to exit. */
export async function terminateSessions(query: Query, oid: string): Promise<number> {
  const rows = await query<{ ended: boolean }>(
    `SELECT pg_catalog.pg_terminate_backend(pid, 5000) AS ended FROM pg_catalog.pg_stat_activity
      WHERE usesysid = $1::oid AND pid <> pg_catalog.pg_backend_pid()`,
    [oid],
  );
  return rows.length;
}
