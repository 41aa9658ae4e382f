import type { Database } from '../../../src/db';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { BaoClient, seg } from './client';
import { denyPolicyName, ensureEntity, findEntity, readEntity, readRole, tokensOf, type Role, READ_ROLE, BIND_ENTITY, FIND_TOKENS } from './identity';

interface RestrictCapture {
  entityId: string;
  policies: string[];
}

const key = (identityId: string) => ({ provider: 'openbao', identityId, action: 'restrict' });

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

/**
 * The deny policy for an identity. OpenBao picks the most specific matching path across all of a
 * token's policies and only then merges capabilities, so a bare `path "*" deny` loses to e.g.
 * `secret/data/app/*` in the role's own policy. The deny policy therefore repeats every path of
 * every policy the identity's tokens carry (same pattern → capabilities merge → deny wins).
 */
export async function denyPolicyText(bao: BaoClient, role: Role, entityPolicies: string[], tokenPolicies: string[]): Promise<string> {
  const deny = denyPolicyName(role.name);
  const names = new Set([...role.tokenPolicies, ...entityPolicies, ...tokenPolicies, ...(role.noDefaultPolicy ? [] : ['default'])]);
  names.delete('root');
  names.delete(deny);
  const paths = new Set<string>(['*']);
  for (const name of [...names].sort()) {
    const res = await bao.call('GET', `sys/policies/acl/${seg(name)}`, undefined, [404]);
    if (res.status === 404) continue;
    for (const path of policyPaths(res.body.data.policy)) paths.add(path);
  }
  const rules = Object.fromEntries([...paths].sort().map((p) => [p, { capabilities: ['deny'] }]));
  return JSON.stringify({ path: rules }, null, 1);
}

/** Restrict: the entity's policies become only Cordon's deny policy (all its tokens lose every right). */
export const restrictAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'restrict',
  description: "Replace the AppRole identity's entity policies with a deny policy covering every path its tokens can reach",
  permissions: [
    ...READ_ROLE,
    ...BIND_ENTITY,
    ...FIND_TOKENS,
    'sys/policies/acl/* (read)',
    'sys/policies/acl/cordon-deny-* (create, read, update, delete)',
  ],
  reversible: true,
  async run({ identityId }) {
    const role = await readRole(bao, identityId);
    const entity = await ensureEntity(bao, role);
    const before = await capture<RestrictCapture>(db, key(identityId), async () => ({ entityId: entity.id, policies: entity.policies }));
    const tokens = await tokensOf(bao, role, entity.id);
    const deny = denyPolicyName(role.name);
    const text = await denyPolicyText(bao, role, before.policies, tokens.flatMap((t) => t.policies));
    const current = await bao.call('GET', `sys/policies/acl/${seg(deny)}`, undefined, [404]);
    let changed = false;
    if (current.status === 404 || current.body.data.policy !== text) {
      await bao.post(`sys/policies/acl/${seg(deny)}`, { policy: text });
      changed = true;
    }
    if (entity.policies.length !== 1 || entity.policies[0] !== deny) {
      await bao.post(`identity/entity/id/${seg(entity.id)}`, { policies: [deny] });
      changed = true;
    }
    const after = await readEntity(bao, entity.id);
    if (after.policies.join() !== deny) throw new Error(`OpenBao entity of role "${identityId}" did not take the deny policy`);
    return {
      changed,
      detail: { entityId: entity.id, policies: after.policies, previousPolicies: before.policies, deniedPaths: Object.keys(JSON.parse(text).path).length, ...(changed ? {} : { already: true }) },
    };
  },
  async undo({ identityId }) {
    const before = await capturedFor<RestrictCapture>(db, key(identityId));
    if (!before) return { changed: false, detail: { already: true, reason: 'nothing captured: restrict never took effect' } };
    const role = await readRole(bao, identityId);
    const entity = await readEntity(bao, before.entityId);
    let changed = false;
    if (entity.policies.join('\n') !== before.policies.join('\n')) {
      await bao.post(`identity/entity/id/${seg(entity.id)}`, { policies: before.policies });
      changed = true;
    }
    const deny = denyPolicyName(role.name);
    const policy = await bao.call('GET', `sys/policies/acl/${seg(deny)}`, undefined, [404]);
    if (policy.status !== 404) {
      await bao.call('DELETE', `sys/policies/acl/${seg(deny)}`);
      changed = true;
    }
    const after = await readEntity(bao, entity.id);
    if (after.policies.join('\n') !== before.policies.join('\n')) throw new Error(`OpenBao entity of role "${identityId}" did not get its policies back`);
    await releaseCapture(db, key(identityId));
    return { changed, detail: { entityId: entity.id, policies: after.policies, ...(changed ? {} : { already: true }) } };
  },
});

/** Post-condition of restrict: the entity carries only the deny policy, and that policy exists. */
export async function restricted(bao: BaoClient, identityId: string): Promise<boolean> {
  const role = await readRole(bao, identityId);
  const entity = await findEntity(bao, role);
  if (!entity || entity.policies.join() !== denyPolicyName(role.name)) return false;
  const policy = await bao.call('GET', `sys/policies/acl/${seg(denyPolicyName(role.name))}`, undefined, [404]);
  return policy.status === 200;
}
