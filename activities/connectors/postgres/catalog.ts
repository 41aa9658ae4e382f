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

/** Object kinds whose ACL entries restrict REVOKEs (and its undo GRANTs back). */
export type GrantKind =
  | 'table'
  | 'sequence'
  | 'schema'
  | 'database'
  | 'column'
  | 'routine'
  | 'type'
  | 'language'
  | 'foreign data wrapper'
  | 'foreign server'
  | 'large object'
  | 'parameter';

/** One privilege granted directly to the role on an object of `kind`. */
export interface Grant {
  kind: GrantKind;
  /** The schema of a table, sequence, column, routine or type; null otherwise. */
  schema: string | null;
  /** The object's name (a column's table, a routine's name, a large object's oid). */
  name: string;
  /** Column privileges only: the column. */
  column?: string;
  /** Routines only: the identity argument list, as PostgreSQL prints it (`x integer, y text`). */
  args?: string;
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

/**
 * What the role holds that restrict does not take away. Non-empty means restrict refuses (and
 * verify of restrict is false): an owner holds every privilege on its objects implicitly and can
 * grant itself anything back, and restrict only acts in the connector's database.
 */
export interface NotCovered {
  /** Objects the role owns, in this database and cluster-wide (databases, tablespaces). */
  owns: string[];
  /** ACL entries on objects restrict has no REVOKE for (tablespaces, anything newer). */
  otherPrivileges: string[];
  /** Other databases of the cluster where the role owns objects or holds privileges. */
  otherDatabases: { database: string; owns: number; privileges: number }[];
}

/** Everything the connector reads about a role. `verifier` is sensitive: never report it. */
export interface RoleState extends Privileges {
  notCovered: NotCovered;
  /**
   * Default privileges (ALTER DEFAULT PRIVILEGES … TO role) that will grant the role privileges
   * on objects created later. Reported, not changed: they give nothing on existing objects.
   */
  defaultPrivileges: string[];
  oid: string;
  name: string;
  allFlags: RoleFlags;
  verifier: string | null;
  sessions: Session[];
  database: string;
  /** The role the connector is connected as. */
  connectorRole: string;
}

/** Rejects identity ids PostgreSQL would truncate or cannot hold, before any SQL runs. */
export function roleName(identityId: string): string {
  if (!identityId || identityId.includes('\0') || Buffer.byteLength(identityId) > 63) {
    throw refuse(
      PostgresFailure.InvalidInput,
      `"${identityId.slice(0, 80)}" is not a PostgreSQL role name (1-63 bytes, no NUL)`,
    );
  }
  return identityId;
}

// Catalogs whose ACL entries restrict reads as grants (see readRole); an ACL entry on any other
// catalog (tablespaces, or something a newer PostgreSQL adds) is reported as not covered.
const COVERED_CATALOGS = new Set([
  'pg_class',
  'pg_proc',
  'pg_type',
  'pg_namespace',
  'pg_language',
  'pg_foreign_data_wrapper',
  'pg_foreign_server',
  'pg_largeobject',
  'pg_database',
  'pg_parameter_acl',
]);

// Evidence lands in workflow history: a role owning thousands of objects is listed in part.
const LISTED = 50;
function capped(items: string[]): string[] {
  const all = [...items].sort();
  return all.length > LISTED ? [...all.slice(0, LISTED), `… and ${all.length - LISTED} more`] : all;
}

const sortKey = (value: unknown) => JSON.stringify(value);
const sorted = <T>(items: T[]) =>
  [...items].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));

/** Reads the role's flags, verifier, direct grants, memberships and sessions. */
export async function readRole(query: Query, role: string): Promise<RoleState> {
  const [row] = await query<{
    oid: string;
    rolname: string;
    rolsuper: boolean;
    rolinherit: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolcanlogin: boolean;
    rolreplication: boolean;
    rolbypassrls: boolean;
    rolconnlimit: number;
    valid_until: string | null;
    rolpassword: string | null;
    database: string;
    connector: string;
    version: number;
  }>(
    `SELECT a.oid::text AS oid, a.rolname, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin,
            a.rolreplication, a.rolbypassrls, a.rolconnlimit, a.rolvaliduntil::text AS valid_until, a.rolpassword,
            current_database() AS database, current_user AS connector,
            pg_catalog.current_setting('server_version_num')::int AS version
       FROM pg_catalog.pg_authid a WHERE a.rolname = $1`,
    [role],
  );
  if (!row) throw refuse(PostgresFailure.RoleNotFound, `PostgreSQL role "${role}" does not exist`);
  const rows = await query<Omit<Grant, 'column' | 'args'> & { column: string | null; args: string | null }>(
    `SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname::text AS schema, c.relname::text AS name,
            NULL::text AS column, NULL::text AS args,
            x.privilege_type AS privilege, x.is_grantable AS grantable, pg_catalog.pg_get_userbyid(x.grantor)::text AS grantor
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) x
      WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'column', n.nspname::text, c.relname::text, a.attname::text, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) x
      WHERE x.grantee = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL
     SELECT 'routine', n.nspname::text, p.proname::text, NULL, pg_catalog.pg_get_function_identity_arguments(p.oid),
            x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'type', n.nspname::text, t.typname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            CROSS JOIN LATERAL pg_catalog.aclexplode(t.typacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'schema', NULL, n.nspname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_namespace n CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'language', NULL, l.lanname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_language l CROSS JOIN LATERAL pg_catalog.aclexplode(l.lanacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'foreign data wrapper', NULL, w.fdwname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_foreign_data_wrapper w CROSS JOIN LATERAL pg_catalog.aclexplode(w.fdwacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'foreign server', NULL, v.srvname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_foreign_server v CROSS JOIN LATERAL pg_catalog.aclexplode(v.srvacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'large object', NULL, o.oid::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_largeobject_metadata o CROSS JOIN LATERAL pg_catalog.aclexplode(o.lomacl) x WHERE x.grantee = $1::oid
     UNION ALL
     SELECT 'database', NULL, d.datname::text, NULL, NULL, x.privilege_type, x.is_grantable, pg_catalog.pg_get_userbyid(x.grantor)::text
       FROM pg_catalog.pg_database d CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) x WHERE x.grantee = $1::oid`,
    [row.oid],
  );
  // Parameter privileges (GRANT SET / ALTER SYSTEM ON PARAMETER) exist from PostgreSQL 15.
  if (row.version >= 150000) {
    rows.push(
      ...(await query<(typeof rows)[number]>(
        `SELECT 'parameter' AS kind, NULL::text AS schema, p.parname::text AS name, NULL::text AS column, NULL::text AS args,
                x.privilege_type AS privilege, x.is_grantable AS grantable, pg_catalog.pg_get_userbyid(x.grantor)::text AS grantor
           FROM pg_catalog.pg_parameter_acl p CROSS JOIN LATERAL pg_catalog.aclexplode(p.paracl) x WHERE x.grantee = $1::oid`,
        [row.oid],
      )),
    );
  }
  // Only column privileges carry a column and routines their arguments: other grants keep their shape.
  const grants: Grant[] = rows.map(({ column, args, ...g }) => ({
    ...g,
    ...(column !== null ? { column } : {}),
    ...(args !== null ? { args } : {}),
  }));
  // What restrict cannot take away, from the shared dependency catalog, which records every object
  // a role owns ('o') and every ACL entry naming it ('a') in every database of the cluster.
  const dependencies = await query<{
    deptype: string;
    catalog: string;
    database: string | null;
    here: boolean;
    object: string | null;
  }>(
    `SELECT s.deptype::text AS deptype, s.classid::regclass::text AS catalog, d.datname::text AS database,
            (s.dbid = 0 OR d.datname = current_database()) AS here,
            CASE WHEN s.dbid = 0 OR d.datname = current_database() THEN pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid) END AS object
       FROM pg_catalog.pg_shdepend s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = $1::oid AND s.deptype IN ('o', 'a')`,
    [row.oid],
  );
  const notCovered: NotCovered = { owns: [], otherPrivileges: [], otherDatabases: [] };
  const defaultPrivileges: string[] = [];
  const elsewhere = new Map<string, { database: string; owns: number; privileges: number }>();
  for (const dep of dependencies) {
    if (!dep.here) {
      const name = dep.database ?? '(unknown database)';
      const entry = elsewhere.get(name) ?? { database: name, owns: 0, privileges: 0 };
      entry[dep.deptype === 'o' ? 'owns' : 'privileges'] += 1;
      elsewhere.set(name, entry);
    } else if (dep.catalog === 'pg_default_acl') {
      // Owning default privileges only shapes the role's own future objects; being their grantee is reported.
      if (dep.deptype === 'a') defaultPrivileges.push(dep.object ?? dep.catalog);
    } else if (dep.deptype === 'o') {
      notCovered.owns.push(dep.object ?? dep.catalog);
    } else if (!COVERED_CATALOGS.has(dep.catalog)) {
      notCovered.otherPrivileges.push(dep.object ?? dep.catalog);
    }
  }
  notCovered.owns = capped(notCovered.owns);
  notCovered.otherPrivileges = capped(notCovered.otherPrivileges);
  notCovered.otherDatabases = [...elsewhere.values()].sort((a, b) =>
    a.database < b.database ? -1 : a.database > b.database ? 1 : 0,
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
    allFlags: {
      ...flags,
      inherit: row.rolinherit,
      canLogin: row.rolcanlogin,
      connectionLimit: row.rolconnlimit,
      validUntil: row.valid_until,
    },
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
    notCovered,
    defaultPrivileges: capped(defaultPrivileges),
    sessions,
    database: row.database,
    connectorRole: row.connector,
  };
}

export type PasswordMethod = 'scram-sha-256' | 'md5' | 'other';

/** How a stored verifier was made; null when the role has no password. */
export const methodOf = (verifier: string | null): PasswordMethod | null =>
  verifier === null
    ? null
    : verifier.startsWith('SCRAM-SHA-256$')
      ? 'scram-sha-256'
      : verifier.startsWith('md5')
        ? 'md5'
        : 'other';

/**
 * A fingerprint of the verifier, for SCRAM verifiers only. A SCRAM verifier is salted with random
 * bytes, so its hash reveals nothing a dictionary could be run against. An md5 verifier is
 * md5(password ‖ role name), unsalted: its hash would let anyone who reads the history or the
 * audit test candidate passwords offline, so it gets no fingerprint (nor does any other format).
 */
export const verifierFingerprint = (verifier: string | null): string | null =>
  methodOf(verifier) === 'scram-sha-256' ? fingerprint(verifier!) : null;

/** The password method of a stored verifier, for evidence; never the verifier itself. */
export function passwordEvidence(verifier: string | null) {
  return { set: verifier !== null, method: methodOf(verifier), fingerprint: verifierFingerprint(verifier) };
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
    notCovered: state.notCovered,
    defaultPrivileges: state.defaultPrivileges,
    // Sessions come and go by themselves; a rollback cannot (and need not) bring ended ones back.
    observed: { sessions: state.sessions },
  };
}

/** The privileges restrict removes, as held now. */
export const privilegesOf = (s: RoleState): Privileges => ({ flags: s.flags, grants: s.grants, memberOf: s.memberOf });

/** True when the role holds no direct grant, no membership and no elevated flag. */
export const isRestricted = (p: Privileges) =>
  p.grants.length === 0 && p.memberOf.length === 0 && !Object.values(p.flags).some(Boolean);

/** True when the role holds nothing restrict cannot remove (owned objects, uncovered ACLs, other databases). */
export const nothingUncovered = (n: NotCovered) =>
  n.owns.length === 0 && n.otherPrivileges.length === 0 && n.otherDatabases.length === 0;

/** The post-condition of restrict: nothing it removes is held, and nothing it cannot remove either. */
export const restrictHolds = (s: RoleState) => isRestricted(privilegesOf(s)) && nothingUncovered(s.notCovered);

/** A short, readable list of what restrict cannot remove, for messages. */
export function describeNotCovered(n: NotCovered): string {
  const list = (items: string[]) =>
    items.length > 8 ? `${items.slice(0, 8).join(', ')} and ${items.length - 8} more` : items.join(', ');
  const parts: string[] = [];
  if (n.owns.length)
    parts.push(`it owns ${list(n.owns)} (an owner holds every privilege on its objects and can grant itself more)`);
  if (n.otherPrivileges.length)
    parts.push(`it holds privileges restrict does not revoke on ${list(n.otherPrivileges)}`);
  if (n.otherDatabases.length) {
    parts.push(
      `it owns objects or holds privileges in other databases: ${list(n.otherDatabases.map((d) => `${d.database} (${d.owns} owned, ${d.privileges} privileges)`))}`,
    );
  }
  return parts.join('; ');
}

/** The actions, never the connector's own role nor a predefined role. */
export function refuseProtected(state: RoleState): void {
  if (state.name === state.connectorRole) {
    throw refuse(PostgresFailure.Refused, `refusing to act on "${state.name}": it is the connector's own role`);
  }
  if (state.name.startsWith('pg_')) {
    throw refuse(PostgresFailure.Refused, `refusing to act on "${state.name}": it is a predefined PostgreSQL role`);
  }
}
