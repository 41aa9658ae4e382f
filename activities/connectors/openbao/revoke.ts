import type { ConnectorAction } from '../types';
import { fingerprint } from '../../../src/digest';
import { BaoClient, seg } from './client';
import { APPROLE_MOUNT, findEntity, readRole, ROTATION_MARK, secretIdsOf, tokensOf, READ_ROLE, FIND_ENTITY, FIND_TOKENS } from './identity';

/**
 * Revoke: destroy every secret-id of the role and revoke every token of the identity by accessor.
 * Revoking a token also revokes its child tokens and every lease issued to it, so no lease-prefix
 * revocation is needed (and none would be safe: AppRole token leases of all roles share the
 * `auth/approle/login/` prefix). Irreversible.
 */
export const revokeAction = (bao: BaoClient): ConnectorAction => ({
  name: 'revoke',
  description: "Destroy the AppRole role's secret-ids and revoke the identity's tokens (with their child tokens and leases)",
  permissions: [
    ...READ_ROLE,
    ...FIND_ENTITY,
    ...FIND_TOKENS,
    'identity/entity/id/+ (read)',
    'auth/approle/role/+/secret-id (list)',
    'auth/approle/role/+/secret-id-accessor/lookup (update)',
    'auth/approle/role/+/secret-id-accessor/destroy (update)',
    'auth/token/revoke-accessor (update)',
  ],
  reversible: false,
  async run({ identityId }) {
    const role = await readRole(bao, identityId);
    const entity = await findEntity(bao, role);
    const secretIds = await secretIdsOf(bao, role);
    for (const { accessor } of secretIds) {
      await bao.call('POST', `auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id-accessor/destroy`, { secret_id_accessor: accessor }, [400, 404]);
    }
    const tokens = await tokensOf(bao, role, entity?.id);
    for (const { accessor } of tokens) {
      await bao.call('POST', 'auth/token/revoke-accessor', { accessor }, [400, 404]);
    }
    const [leftIds, leftTokens] = await Promise.all([secretIdsOf(bao, role), tokensOf(bao, role, entity?.id)]);
    if (leftIds.length || leftTokens.length) {
      throw new Error(`OpenBao role "${identityId}" still has ${leftIds.length} secret-id(s) and ${leftTokens.length} token(s) after revoking`);
    }
    const changed = secretIds.length + tokens.length > 0;
    return {
      changed,
      detail: {
        secretIdsDestroyed: secretIds.map((s) => fingerprint(s.accessor)),
        tokensRevoked: tokens.map((t) => fingerprint(t.accessor)),
        ...(changed ? {} : { already: true }),
      },
    };
  },
});

/**
 * Post-condition of revoke: the identity has no token, and no secret-id except those Cordon's
 * rotate issued afterwards (they carry the rotation mark).
 */
export async function revoked(bao: BaoClient, identityId: string): Promise<boolean> {
  const role = await readRole(bao, identityId);
  const entity = await findEntity(bao, role);
  const [ids, tokens] = await Promise.all([secretIdsOf(bao, role), tokensOf(bao, role, entity?.id)]);
  return tokens.length === 0 && ids.every((s) => s.metadata[ROTATION_MARK] !== undefined);
}
