import type { Database } from '../../../src/db';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { BaoClient, seg } from './client';
import {
  restoreEntity,
  denyPolicyName,
  ensureEntity,
  findEntity,
  groupPoliciesOf,
  readEntity,
  readRole,
  tokensOf,
  type Entity,
  type Role,
  READ_ROLE,
  BIND_ENTITY,
  FIND_TOKENS,
} from './identity';

/** What restrict found, in this case, before changing anything. */
interface RestrictCapture {
  /** True when the role had no entity: Cordon creates it, and the undo deletes it again. */
  createdEntity: boolean;
  entityId?: string;
  policies: string[];
  /** The deny policy's text as found (an earlier case may have left it), or null when absent. */
  denyPolicy: string | null;
}

const key = (identityId: string, caseId: string) => ({ provider: 'openbao', identityId, action: 'restrict', caseId });

/** Paths an ACL policy (HCL or JSON) has rules for. */
export function policyPaths(policy: string): string[] {
  try {
    const parsed = JSON.parse(policy);
    const paths = parsed?.path;
    if (Array.isArray(paths)) return paths.flatMap((p) => Object.keys(p ?? {}));
    return Object.keys(paths ?? {});
  } catch {
    return [...policy.matchAll(/^\s*path\s+"([^"]+)"/gm)].map((m) => m[1]);
  }
}

/** Paths the (JSON) deny policy gives the `deny` capability. */
function deniedPaths(text: string): string[] {
  try {
    const rules: Record<string, { capabilities?: string[] }> = JSON.parse(text)?.path ?? {};
    return Object.entries(rules)
      .filter(([, rule]) => rule?.capabilities?.includes('deny'))
      .map(([path]) => path);
  } catch {
    return [];
  }
}

async function readPolicy(bao: BaoClient, name: string): Promise<string | null> {
  const res = await bao.call('GET', `sys/policies/acl/${seg(name)}`, undefined, [404]);
  return res.status === 404 ? null : (res.body?.data?.policy ?? null);
}

/**
 * Every path the identity's tokens could reach: the paths of the role's token policies, of the
 * policies its live tokens carry, of the entity's own (pre-restrict) policies, of the policies of
 * the entity's identity groups (direct and inherited) and of `default`, plus `*`.
 */
async function reachablePaths(
  bao: BaoClient,
  role: Role,
  entity: Entity,
  entityPolicies: string[],
  tokenPolicies: string[],
): Promise<string[]> {
  const deny = denyPolicyName(role.name);
  const groupPolicies = await groupPoliciesOf(bao, entity);
  const names = new Set([
    ...role.tokenPolicies,
    ...entityPolicies,
    ...tokenPolicies,
    ...groupPolicies,
    ...(role.noDefaultPolicy ? [] : ['default']),
  ]);
  names.delete('root');
  names.delete(deny);
  const paths = new Set<string>(['*']);
  for (const name of [...names].sort()) {
    const text = await readPolicy(bao, name);
    if (text !== null) for (const path of policyPaths(text)) paths.add(path);
  }
  return [...paths].sort();
}

/**
 * The deny policy for an identity. OpenBao picks the most specific matching path across all of a
 * token's policies (its own, its entity's and its entity's groups') and only then merges
 * capabilities, so a bare `path "*" deny` loses to e.g. `secret/data/app/*` in the role's own
 * policy. The deny policy therefore repeats every reachable path (same pattern → capabilities
 * merge → deny wins).
 */
const denyPolicyText = (paths: string[]) =>
  JSON.stringify({ path: Object.fromEntries(paths.map((p) => [p, { capabilities: ['deny'] }])) }, null, 1);

/** Restrict: the entity's policies become only Cordon's deny policy (all its tokens lose every right). */
export const restrictAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'restrict',
  description:
    "Replace the AppRole identity's entity policies with a deny policy covering every path its tokens (and its entity's groups) can reach",
  permissions: [
    ...READ_ROLE,
    ...BIND_ENTITY,
    ...FIND_TOKENS,
    'identity/group/id/+ (read)',
    'sys/policies/acl/* (read)',
    'sys/policies/acl/cordon-deny-* (create, read, update, delete)',
  ],
  reversible: true,
  async run({ identityId, caseId }) {
    const role = await readRole(bao, identityId);
    const deny = denyPolicyName(role.name);
    // Captured before anything changes (also before the entity is created), once per case.
    const before = await capture<RestrictCapture>(db, key(identityId, caseId), async () => {
      const found = await findEntity(bao, role);
      return {
        createdEntity: !found,
        entityId: found?.id,
        policies: found?.policies ?? [],
        denyPolicy: await readPolicy(bao, deny),
      };
    });
    const entity = await ensureEntity(bao, role, caseId);
    const tokens = await tokensOf(bao, role, entity.id);
    const text = denyPolicyText(
      await reachablePaths(
        bao,
        role,
        entity,
        [...before.policies, ...entity.policies],
        tokens.flatMap((t) => t.policies),
      ),
    );
    let changed = false;
    if ((await readPolicy(bao, deny)) !== text) {
      await bao.post(`sys/policies/acl/${seg(deny)}`, { policy: text });
      changed = true;
    }
    if (entity.policies.length !== 1 || entity.policies[0] !== deny) {
      await bao.post(`identity/entity/id/${seg(entity.id)}`, { policies: [deny] });
      changed = true;
    }
    const after = await readEntity(bao, entity.id);
    if (after.policies.join() !== deny)
      throw new Error(`OpenBao entity of role "${identityId}" did not take the deny policy`);
    return {
      changed,
      detail: {
        entityId: entity.id,
        ...(before.createdEntity ? { entityCreated: true } : {}),
        policies: after.policies,
        previousPolicies: before.policies,
        groups: entity.groupIds.length,
        deniedPaths: Object.keys(JSON.parse(text).path).length,
        ...(changed ? {} : { already: true }),
      },
    };
  },
  async undo({ identityId, caseId }) {
    const before = await capturedFor<RestrictCapture>(db, key(identityId, caseId));
    if (!before)
      return {
        changed: false,
        detail: { already: true, reason: 'nothing captured: restrict never took effect in this case' },
      };
    const role = await readRole(bao, identityId);
    const deny = denyPolicyName(role.name);
    const restored = await restoreEntity(bao, role, before, 'policies', before.policies);
    let changed = restored.changed;
    const { entityId, ended } = restored;
    // The deny policy as this case found it: absent, or an earlier case's left in place.
    const current = await readPolicy(bao, deny);
    if (current !== before.denyPolicy) {
      if (before.denyPolicy === null) await bao.call('DELETE', `sys/policies/acl/${seg(deny)}`);
      else await bao.post(`sys/policies/acl/${seg(deny)}`, { policy: before.denyPolicy });
      changed = true;
    }
    await releaseCapture(db, key(identityId, caseId));
    return {
      changed,
      detail: {
        entityId,
        ...(ended ? { entityDeleted: ended.deleted, tokensEnded: ended.tokensEnded } : { policies: before.policies }),
        ...(changed ? {} : { already: true }),
      },
    };
  },
});

/**
 * Post-condition of restrict: the entity carries only the deny policy, and that policy denies every
 * path the identity's tokens could reach now (including paths its groups' policies grant).
 */
export async function restricted(bao: BaoClient, identityId: string): Promise<boolean> {
  const role = await readRole(bao, identityId);
  const deny = denyPolicyName(role.name);
  const entity = await findEntity(bao, role);
  if (!entity || entity.policies.join() !== deny) return false;
  const text = await readPolicy(bao, deny);
  if (text === null) return false;
  const tokens = await tokensOf(bao, role, entity.id);
  const denied = new Set(deniedPaths(text));
  return (
    await reachablePaths(
      bao,
      role,
      entity,
      [],
      tokens.flatMap((t) => t.policies),
    )
  ).every((p) => denied.has(p));
}
