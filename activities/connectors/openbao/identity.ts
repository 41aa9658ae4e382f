import { ApplicationFailure } from '@temporalio/activity';
import { BaoClient, OpenBaoFailure, seg } from './client';

/** Where AppRole is mounted; an identity is one role on this mount. */
export const APPROLE_MOUNT = 'approle';
/** Secret-ids Cordon issues on rotate carry this metadata key (value: the rotation id). */
export const ROTATION_MARK = 'cordon_rotation';

/** The AppRole role behind an identity id (the role name). */
export interface Role {
  name: string;
  roleId: string;
  mountAccessor: string;
  tokenPolicies: string[];
  noDefaultPolicy: boolean;
  config: Record<string, unknown>;
}

/** The identity entity AppRole logins of the role are bound to (via an alias named by role_id). */
export interface Entity {
  id: string;
  name: string;
  disabled: boolean;
  policies: string[];
}

/** A live service token issued to the identity (accessor only; never the token itself). */
export interface TokenInfo {
  accessor: string;
  policies: string[];
  expireTime: string | null;
  /** Remaining TTL in seconds when looked up. */
  ttl: number;
  renewable: boolean;
  type: string;
  issueTime: string;
  path: string;
}

/** A secret-id of the role, by accessor (never the secret-id itself). */
export interface SecretIdInfo {
  accessor: string;
  creationTime: string;
  expirationTime: string;
  metadata: Record<string, string>;
}

const ROLE_NAME = /^[\w.@-]{1,128}$/;

/** Reads the role; an unknown (or malformed) role name is a permanent failure. */
export async function readRole(bao: BaoClient, name: string): Promise<Role> {
  const unknown = () =>
    ApplicationFailure.create({
      type: OpenBaoFailure.UnknownIdentity,
      message: `no AppRole role "${name}" on auth/${APPROLE_MOUNT}/ in OpenBao`,
      nonRetryable: true,
    });
  if (!ROLE_NAME.test(name)) throw unknown();
  const role = await bao.call('GET', `auth/${APPROLE_MOUNT}/role/${seg(name)}`, undefined, [404]);
  if (role.status === 404) throw unknown();
  const [roleId, mount] = await Promise.all([
    bao.get(`auth/${APPROLE_MOUNT}/role/${seg(name)}/role-id`),
    bao.get(`sys/mounts/auth/${APPROLE_MOUNT}`),
  ]);
  const data = role.body.data ?? {};
  return {
    name,
    roleId: roleId.data.role_id,
    mountAccessor: mount.data?.accessor ?? mount.accessor,
    tokenPolicies: [...(data.token_policies ?? data.policies ?? [])],
    noDefaultPolicy: data.token_no_default_policy === true,
    config: {
      tokenPolicies: [...(data.token_policies ?? [])].sort(),
      tokenTtl: data.token_ttl,
      tokenMaxTtl: data.token_max_ttl,
      tokenType: data.token_type,
      tokenNoDefaultPolicy: data.token_no_default_policy,
      bindSecretId: data.bind_secret_id,
      secretIdTtl: data.secret_id_ttl,
      secretIdNumUses: data.secret_id_num_uses,
    },
  };
}

/** The entity bound to the role's alias, or undefined when the role never logged in. */
export async function findEntity(bao: BaoClient, role: Role): Promise<Entity | undefined> {
  const res = await bao.call('POST', 'identity/lookup/entity', { alias_name: role.roleId, alias_mount_accessor: role.mountAccessor });
  if (res.status === 204 || !res.body?.data) return undefined;
  return readEntity(bao, res.body.data.id);
}

export async function readEntity(bao: BaoClient, id: string): Promise<Entity> {
  const { data } = await bao.get(`identity/entity/id/${seg(id)}`);
  return { id: data.id, name: data.name, disabled: data.disabled === true, policies: [...(data.policies ?? [])] };
}

/**
 * The role's entity, created (with its alias) when the role never logged in, so that a restriction
 * or isolation also binds the role's future logins.
 */
export async function ensureEntity(bao: BaoClient, role: Role): Promise<Entity> {
  const found = await findEntity(bao, role);
  if (found) return found;
  const created = await bao.post('identity/entity', { name: `approle-${role.name}`, metadata: { created_by: 'cordon' } });
  const id = created?.data?.id ?? (await bao.get(`identity/entity/name/${seg(`approle-${role.name}`)}`)).data.id;
  await bao.post('identity/entity-alias', { name: role.roleId, canonical_id: id, mount_accessor: role.mountAccessor });
  return readEntity(bao, id);
}

/**
 * Live service tokens of the identity: those bound to its entity or issued by its AppRole login.
 * Lists every token accessor on the server and looks each up: O(all tokens) calls. Batch tokens
 * have no accessor and are not listed (they are blocked by the entity being disabled).
 */
export async function tokensOf(bao: BaoClient, role: Role, entityId: string | undefined): Promise<TokenInfo[]> {
  const accessors = await bao.list('auth/token/accessors');
  const tokens: TokenInfo[] = [];
  for (const accessor of accessors) {
    const token = await lookupToken(bao, accessor);
    if (!token) continue;
    const mine =
      (entityId !== undefined && token.entityId === entityId) ||
      (token.info.path === `auth/${APPROLE_MOUNT}/login` && token.roleName === role.name);
    if (mine) tokens.push(token.info);
  }
  return tokens.sort((a, b) => a.accessor.localeCompare(b.accessor));
}

/** Looks a token up by accessor; undefined when it expired or was revoked meanwhile. */
export async function lookupToken(bao: BaoClient, accessor: string): Promise<{ info: TokenInfo; entityId?: string; roleName?: string } | undefined> {
  const res = await bao.call('POST', 'auth/token/lookup-accessor', { accessor }, [400, 404]);
  if (res.status !== 200 || !res.body?.data) return undefined;
  const d = res.body.data;
  return {
    entityId: d.entity_id || undefined,
    roleName: d.meta?.role_name,
    info: {
      accessor,
      policies: [...(d.policies ?? [])].sort(),
      expireTime: d.expire_time ?? null,
      ttl: d.ttl,
      renewable: d.renewable === true,
      type: d.type,
      issueTime: d.issue_time,
      path: d.path,
    },
  };
}

/** The role's secret-ids, by accessor. */
export async function secretIdsOf(bao: BaoClient, role: Role): Promise<SecretIdInfo[]> {
  const accessors = await bao.list(`auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id`);
  const found: SecretIdInfo[] = [];
  for (const accessor of accessors) {
    const res = await bao.call('POST', `auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id-accessor/lookup`, { secret_id_accessor: accessor }, [400, 404]);
    const d = res.body?.data;
    if (res.status !== 200 || !d) continue;
    found.push({ accessor, creationTime: d.creation_time, expirationTime: d.expiration_time, metadata: d.metadata ?? {} });
  }
  return found.sort((a, b) => a.accessor.localeCompare(b.accessor));
}

/** Name of the per-identity deny policy restrict attaches to the entity. */
export const denyPolicyName = (role: string) => `cordon-deny-${role}`;

/** Capabilities every action needs to find the role, its entity and its tokens. */
export const READ_ROLE = ['auth/approle/role/+ (read)', 'auth/approle/role/+/role-id (read)', 'sys/mounts/auth/approle (read)'];
export const FIND_ENTITY = ['identity/lookup/entity (update)'];
export const FIND_TOKENS = ['auth/token/accessors (list, sudo)', 'auth/token/lookup-accessor (update)'];
/** Restrict and isolate bind the entity first (created only when the role never logged in). */
export const BIND_ENTITY = [
  ...FIND_ENTITY,
  'identity/entity/id/+ (read, update)',
  'identity/entity, identity/entity-alias (update; only when the role never logged in)',
];
