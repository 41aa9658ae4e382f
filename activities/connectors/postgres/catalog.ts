import { escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { fingerprint } from '../../../src/digest';
import { PostgresFailure, refuse, type Query } from './client';

/** Role attributes that grant power beyond object privileges; restrict turns them off. */
export const ELEVATED_FLAGS = {
  superuser: 'SUPERUSER',
  createRole: 'CREATEROLE',
  createDb: 'CREATEDB',
  replication: 'REPLICATION',
  bypassRls: 'BYPASSRLS',
} as const;
export type ElevatedFlag = keyof typeof ELEVATED_FLAGS;

export interface RoleFlags extends Record<ElevatedFlag, boolean> {
  inherit: boolean;
  canLogin: boolean;
  connectionLimit: number;
  validUntil: string | null;
}

/** One privilege granted directly to the role on a table, sequence, schema or database. */
export interface Grant {
  kind: 'table' | 'sequence' | 'schema' | 'database';
  /** The schema of a table or sequence; null for schemas and databases. */
  schema: string | null;
  name: string;
  privilege: string;
  grantable: boolean;
  grantor: string;
}

/** One role the managed role is a member of. `inherit`/`set` exist on PostgreSQL 16+. */
export interface Membership {
  role: string;
  admin: boolean;
  inherit?: boolean;
  set?: boolean;
  grantor: string | null;
}

/** What restrict removes and its undo puts back. */
export interface Privileges {
  flags: Record<ElevatedFlag, boolean>;
  grants: Grant[];
  memberOf: Membership[];
}

export interface Session {
  pid: number;
  database: string | null;
  clientAddr: string | null;
  applicationName: string | null;
  backendStart: string | null;
  state: string | null;
}

/** Everything the connector reads about a role. `verifier` is sensitive: never report it. */
export interface RoleState extends Privileges {
  oid: string;
  name: string;
  allFlags: RoleFlags;
  verifier: string | null;
  sessions: Session[];
  database: string;
  /** The role the connector is connected as. */
  connectorRole: string;
}

// Privilege keywords aclexplode reports, all valid in GRANT/REVOKE; anything else is refused.
const PRIVILEGES = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'USAGE', 'CREATE', 'CONNECT', 'TEMPORARY', 'EXECUTE', 'MAINTAIN', 'SET', 'ALTER SYSTEM']);

/** Rejects identity ids PostgreSQL would truncate or cannot hold, before any SQL runs. */
export function roleName(identityId: string): string {
  if (!identityId || identityId.includes('\0') || Buffer.byteLength(identityId) > 63) {
    throw refuse(PostgresFailure.InvalidInput, `"${identityId.slice(0, 80)}" is not a PostgreSQL role name (1-63 bytes, no NUL)`);
  }
  return identityId;
}

const sortKey = (value: unknown) => JSON.stringify(value);
const sorted = <T>(items: T[]) => [...items].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));

/** Reads the role's flags, verifier, direct grants, memberships and sessions. */
export async function readRole(query: Query, role: string): Promise<RoleState> {
  const [row] = await query<{
    oid: string; rolname: string; rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean;
    rolcanlogin: boolean; rolreplication: boolean; rolbypassrls: boolean; rolconnlimit: number; valid_until: string | null;
    rolpassword: string | null; database: string; connector: string;
  }>(
    `SELECT a.oid::text AS oid, a.rolname, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin,
            a.rolreplication, a.rolbypassrls, a.rolconnlimit, a.rolvaliduntil::text AS valid_until, a.rolpassword,
            current_database() AS database, current_user AS connector
       FROM pg_catalog.pg_authid a WHERE a.rolname = $1`,
    [role],
  );
  if (!row) throw refuse(PostgresFailure.RoleNotFound, `PostgreSQL role "${role}" does not exist`);
  const grants = await query<Grant>(
    `SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname::text AS schema, c.relname::text AS name,
            x.privilege_type AS privilege, x.is_grantable AS grantable, pg_catalog.pg_get_userbyid(x.grantor)::text AS grantor
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) x
      WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'schema', NULL, n.nspname::text, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_namespace n CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'database', NULL, d.datname::text, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_database d CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) x WHERE x.grantee = $1::oid`,
    [row.oid],
  );
  // to_jsonb keeps this version-agnostic: inherit_option and set_option exist from PostgreSQL 16.
  const members = await query<{ role: string; grantor: string | null; m: Record<string, unknown> }>(
    `SELECT pg_catalog.pg_get_userbyid(m.roleid)::text AS role,
            CASE WHEN m.grantor = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(m.grantor)::text END AS grantor, to_jsonb(m) AS m
       FROM pg_catalog.pg_auth_members m WHERE m.member = $1::oid`,
    [row.oid],
  );
  const sessions = await query<Session>(
    `SELECT pid, datname::text AS database, client_addr::text AS "clientAddr", application_name AS "applicationName",
            backend_start::text AS "backendStart", state
       FROM pg_catalog.pg_stat_activity WHERE usesysid = $1::oid AND pid <> pg_catalog.pg_backend_pid() ORDER BY pid`,
    [row.oid],
  );
  const flags = {
    superuser: row.rolsuper,
    createRole: row.rolcreaterole,
    createDb: row.rolcreatedb,
    replication: row.rolreplication,
    bypassRls: row.rolbypassrls,
  };
  return {
    oid: row.oid,
    name: row.rolname,
    flags,
    allFlags: { ...flags, inherit: row.rolinherit, canLogin: row.rolcanlogin, connectionLimit: row.rolconnlimit, validUntil: row.valid_until },
    verifier: row.rolpassword,
    grants: sorted(grants),
    memberOf: sorted(
      members.map(({ role: parent, grantor, m }) => ({
        role: parent,
        admin: m.admin_option === true,
        ...('inherit_option' in m ? { inherit: m.inherit_option === true, set: m.set_option === true } : {}),
        grantor,
      })),
    ),
    sessions,
    database: row.database,
    connectorRole: row.connector,
  };
}

/** The password method of a stored verifier, for evidence; never the verifier itself. */
export function passwordEvidence(verifier: string | null) {
  return {
    set: verifier !== null,
    method: verifier === null ? null : verifier.startsWith('SCRAM-SHA-256$') ? 'scram-sha-256' : verifier.startsWith('md5') ? 'md5' : 'other',
    fingerprint: verifier === null ? null : fingerprint(verifier),
  };
}

/** The evidence snapshot: flags, password fingerprint, grants, memberships; live sessions as observed. */
export function snapshotOf(state: RoleState) {
  return {
    provider: 'postgres',
    role: state.name,
    database: state.database,
    flags: state.allFlags,
    password: passwordEvidence(state.verifier),
    memberOf: state.memberOf,
    grants: state.grants,
    // Sessions come and go by themselves; a rollback cannot (and need not) bring ended ones back.
    observed: { sessions: state.sessions },
  };
}

/** The privileges restrict removes, as held now. */
export const privilegesOf = (s: RoleState): Privileges => ({ flags: s.flags, grants: s.grants, memberOf: s.memberOf });

/** True when the role holds no direct grant, no membership and no elevated flag. */
export const isRestricted = (p: Privileges) =>
  p.grants.length === 0 && p.memberOf.length === 0 && !Object.values(p.flags).some(Boolean);

/** The actions, never the connector's own role nor a predefined role. */
export function refuseProtected(state: RoleState): void {
  if (state.name === state.connectorRole) {
    throw refuse(PostgresFailure.Refused, `refusing to act on "${state.name}": it is the connector's own role`);
  }
  if (state.name.startsWith('pg_')) {
    throw refuse(PostgresFailure.Refused, `refusing to act on "${state.name}": it is a predefined PostgreSQL role`);
  }
}

function objectClause(g: Grant): string {
  const privilege = g.privilege.toUpperCase();
  if (!PRIVILEGES.has(privilege)) throw refuse(PostgresFailure.InvalidInput, `unexpected privilege "${g.privilege}" on ${g.kind} ${g.name}`);
  switch (g.kind) {
    case 'table':
      return `${privilege} ON TABLE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'sequence':
      return `${privilege} ON SEQUENCE ${ident(g.schema!)}.${ident(g.name)}`;
    case 'schema':
      return `${privilege} ON SCHEMA ${ident(g.name)}`;
    case 'database':
      return `${privilege} ON DATABASE ${ident(g.name)}`;
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
  asGrantor(query, g.grantor, connector, `GRANT ${objectClause(g)} TO ${ident(role)}${g.grantable ? ' WITH GRANT OPTION' : ''}`);

/** Removes one membership; on 16+ the grant of that grantor exactly. */
export const revokeMembership = (query: Query, role: string, m: Membership) =>
  query(`REVOKE ${ident(m.role)} FROM ${ident(role)}${m.inherit !== undefined && m.grantor ? ` GRANTED BY ${ident(m.grantor)}` : ''}`);

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

export const setLogin = (query: Query, role: string, login: boolean) => query(`ALTER ROLE ${ident(role)} ${login ? 'LOGIN' : 'NOLOGIN'}`);

/** Ends every session of the role, waiting up to 5 s each for the backend to exit. */
export async function terminateSessions(query: Query, oid: string): Promise<number> {
  const rows = await query<{ ended: boolean }>(
    `SELECT pg_catalog.pg_terminate_backend(pid, 5000) AS ended FROM pg_catalog.pg_stat_activity
      WHERE usesysid = $1::oid AND pid <> pg_catalog.pg_backend_pid()`,
    [oid],
  );
  return rows.length;
}
