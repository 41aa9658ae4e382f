import { mapLimit } from '../mapLimit';
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
  /** Identity groups the entity belongs to, directly or through a parent group. */
  groupIds: string[];
  metadata: Record<string, string>;
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
  const res = await bao.call('POST', 'identity/lookup/entity', {
    alias_name: role.roleId,
    alias_mount_accessor: role.mountAccessor,
  });
  if (res.status === 204 || !res.body?.data) return undefined;
  return readEntity(bao, res.body.data.id);
}

export async function readEntity(bao: BaoClient, id: string): Promise<Entity> {
  const { data } = await bao.get(`identity/entity/id/${seg(id)}`);
  const groupIds = new Set<string>([
    ...(data.group_ids ?? []),
    ...(data.direct_group_ids ?? []),
    ...(data.inherited_group_ids ?? []),
  ]);
  return {
    id: data.id,
    name: data.name,
    disabled: data.disabled === true,
    policies: [...(data.policies ?? [])],
    groupIds: [...groupIds].sort(),
    metadata: { ...(data.metadata ?? {}) },
  };
}

/**
 * Policies the entity's identity groups give its tokens: those of its groups and of every parent
 * group above them (OpenBao applies both). Walks `parent_group_ids`, each group read once.
 */
export async function groupPoliciesOf(bao: BaoClient, entity: Entity): Promise<string[]> {
  const seen = new Set<string>();
  const policies = new Set<string>();
  let level = entity.groupIds;
  while (level.length) {
    const fresh = level.filter((id) => !seen.has(id));
    fresh.forEach((id) => seen.add(id));
    const groups = await mapLimit(
      fresh,
      LOOKUP_CONCURRENCY,
      async (id) => (await bao.call('GET', `identity/group/id/${seg(id)}`, undefined, [404])).body?.data,
    );
    level = [];
    for (const group of groups) {
      if (!group) continue;
      for (const policy of group.policies ?? []) policies.add(policy);
      level.push(...(group.parent_group_ids ?? []));
    }
  }
  return [...policies].sort();
}

/** Name of the entity Cordon creates for a role that never logged in. */
export const entityNameOf = (role: Role) => `approle-${role.name}`;

/** True when the entity is the one Cordon created for this role. */
export const createdByCordon = (entity: { metadata?: Record<string, string> } | undefined, role: Role) =>
  entity?.metadata?.created_by === 'cordon' && entity.metadata.cordon_role === role.name;

/** The entity named `approle-<role>`, whether or not it is bound to the role. */
export async function entityNamed(bao: BaoClient, role: Role): Promise<Entity | undefined> {
  const res = await bao.call('GET', `identity/entity/name/${seg(entityNameOf(role))}`, undefined, [404]);
  if (res.status === 404 || !res.body?.data?.id) return undefined;
  return readEntity(bao, res.body.data.id);
}

/**
 * The role's entity, created (with its alias) when the role never logged in, so that a restriction
 * or isolation also binds the role's future logins. The created entity is marked as Cordon's
 * (metadata); an undo deletes it again. An existing entity of that name that is not Cordon's is
 * never taken over (`POST identity/entity` with its name would update it): a permanent conflict.
 */
export async function ensureEntity(bao: BaoClient, role: Role, caseId: string): Promise<Entity> {
  const found = await findEntity(bao, role);
  if (found) return found;
  const name = entityNameOf(role);
  let entity = await entityNamed(bao, role);
  if (entity && !createdByCordon(entity, role)) {
    throw ApplicationFailure.create({
      type: OpenBaoFailure.Conflict,
      message: `role "${role.name}" never logged in and an identity entity named "${name}" already exists that Cordon did not create; Cordon will not take it over (bind the role's alias to the right entity, or rename that one)`,
      nonRetryable: true,
    });
  }
  if (!entity) {
    // An earlier attempt may have created it already (then `entity` is Cordon's and is reused).
    const created = await bao.post('identity/entity', {
      name,
      metadata: { created_by: 'cordon', cordon_role: role.name, cordon_case: caseId },
    });
    entity = await readEntity(bao, created?.data?.id ?? (await entityNamed(bao, role))!.id);
  }
  await bao.post('identity/entity-alias', {
    name: role.roleId,
    canonical_id: entity.id,
    mount_accessor: role.mountAccessor,
  });
  return readEntity(bao, entity.id);
}

/**
 * Deletes the entity Cordon created for the role (with its alias), if it is still there and still
 * Cordon's. OpenBao refuses tokens whose entity is gone, so tokens of logins made while the role was
 * contained end with it (the workload logs in again and gets a fresh entity); their number is returned.
 */
export async function deleteCreatedEntity(
  bao: BaoClient,
  role: Role,
): Promise<{ deleted: boolean; tokensEnded: number }> {
  const entity = (await findEntity(bao, role)) ?? (await entityNamed(bao, role));
  if (!entity || !createdByCordon(entity, role)) return { deleted: false, tokensEnded: 0 };
  const tokens = (await tokensOf(bao, role, entity.id)).length;
  // Deleting an entity deletes its aliases too.
  await bao.call('DELETE', `identity/entity/id/${seg(entity.id)}`, undefined, [404]);
  return { deleted: true, tokensEnded: tokens };
}

/** What undoing a change to the entity did. */
export interface EntityRestore {
  changed: boolean;
  entityId?: string;
  /** Set when the entity was Cordon's own and went again (its tokens with it). */
  ended?: { deleted: boolean; tokensEnded: number };
}

/**
 * Puts one entity field back as a case found it: an entity Cordon created for the case goes
 * again; otherwise the field is written back and re-read to check that it took.
 */
export async function restoreEntity<K extends 'disabled' | 'policies'>(
  bao: BaoClient,
  role: Role,
  found: { createdEntity?: boolean; entityId?: string },
  field: K,
  value: Entity[K],
): Promise<EntityRestore> {
  if (found.createdEntity) {
    const ended = await deleteCreatedEntity(bao, role);
    return { changed: ended.deleted, entityId: found.entityId, ended };
  }
  const same = (entity: Entity) => JSON.stringify(entity[field]) === JSON.stringify(value);
  const entity = await readEntity(bao, found.entityId!);
  if (same(entity)) return { changed: false, entityId: entity.id };
  await bao.post(`identity/entity/id/${seg(entity.id)}`, { [field]: value });
  if (!same(await readEntity(bao, entity.id)))
    throw new Error(`OpenBao entity of role "${role.name}" did not get its ${field} back`);
  return { changed: true, entityId: entity.id };
}

/** At most this many lookups run at once (the server sees a short burst, not one call per token in turn). */
export const LOOKUP_CONCURRENCY = 16;

/**
 * Live service tokens of the identity: those bound to its entity or issued by its AppRole login.
 * OpenBao cannot list tokens by entity or role, so this lists every token accessor on the server
 * and looks each up, LOOKUP_CONCURRENCY at a time: still O(all tokens) calls (about N/16 round
 * trips), so a server with very many tokens can still make a snapshot or action slow. Batch tokens
 * have no accessor and are not listed (they are blocked by the entity being disabled).
 */
export async function tokensOf(bao: BaoClient, role: Role, entityId: string | undefined): Promise<TokenInfo[]> {
  const accessors = await bao.list('auth/token/accessors');
  const looked = await mapLimit(accessors, LOOKUP_CONCURRENCY, (accessor) => lookupToken(bao, accessor));
  const tokens = looked.filter(
    (token): token is NonNullable<typeof token> =>
      token !== undefined &&
      ((entityId !== undefined && token.entityId === entityId) ||
        (token.info.path === `auth/${APPROLE_MOUNT}/login` && token.roleName === role.name)),
  );
  return tokens.map((t) => t.info).sort((a, b) => a.accessor.localeCompare(b.accessor));
}

/** Looks a token up by accessor; undefined when it expired or was revoked meanwhile. */
export async function lookupToken(
  bao: BaoClient,
  accessor: string,
): Promise<{ info: TokenInfo; entityId?: string; roleName?: string } | undefined> {
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
  const found = await mapLimit(accessors, LOOKUP_CONCURRENCY, async (accessor): Promise<SecretIdInfo | undefined> => {
    const res = await bao.call(
      'POST',
      `auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id-accessor/lookup`,
      { secret_id_accessor: accessor },
      [400, 404],
    );
    const d = res.body?.data;
    if (res.status !== 200 || !d) return undefined;
    return { accessor, creationTime: d.creation_time, expirationTime: d.expiration_time, metadata: d.metadata ?? {} };
  });
  return found.filter((s): s is SecretIdInfo => s !== undefined).sort((a, b) => a.accessor.localeCompare(b.accessor));
}

/** Name of the per-identity deny policy restrict attaches to the entity. */
export const denyPolicyName = (role: string) => `cordon-deny-${role}`;

/** Capabilities every action needs to find the role, its entity and its tokens. */
export const READ_ROLE = [
  'auth/approle/role/+ (read)',
  'auth/approle/role/+/role-id (read)',
  'sys/mounts/auth/approle (read)',
];
export const FIND_ENTITY = ['identity/lookup/entity (update)'];
export const FIND_TOKENS = ['auth/token/accessors (list, sudo)', 'auth/token/lookup-accessor (update)'];
/** Restrict and isolate bind the entity first (created only when the role never logged in; deleted again on undo). */
export const BIND_ENTITY = [
  ...FIND_ENTITY,
  'identity/entity/id/+ (read, update, delete)',
  'identity/entity/name/+ (read)',
  'identity/entity, identity/entity-alias (update; only when the role never logged in)',
];

/** Secret-ids Cordon's rotate issued in this case (their rotation mark is one of this case's rotations). */
export const issuedInCase = (secretId: SecretIdInfo, rotations: ReadonlySet<string>) =>
  rotations.has(secretId.metadata[ROTATION_MARK] ?? '');
