import type { Database } from '../../../src/db';
import type { ConnectorAction } from '../types';
import { fingerprint } from '../../../src/digest';
import { BaoClient } from './client';
import {
  findEntity,
  issuedInCase,
  readRole,
  secretIdsOf,
  tokensOf,
  READ_ROLE,
  FIND_ENTITY,
  FIND_TOKENS,
  LOOKUP_CONCURRENCY,
} from './identity';
import { mapLimit } from '../mapLimit';
import { caseRotations, destroySecretId } from './rotate';

/**
 * Revoke: destroy the role's secret-ids and revoke every token of the identity by accessor.
 * Secret-ids this case's rotate issued (and delivered to KV) are kept: a revoke added later in the
 * same case must not destroy the replacement credential; those of earlier cases' rotations are
 * destroyed like any other. Revoking a token also revokes its child tokens and every lease issued
 * to it, so no lease-prefix revocation is needed (and none would be safe: AppRole token leases of
 * all roles share the `auth/approle/login/` prefix). Irreversible.
 */
export const revokeAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'revoke',
  description:
    "Destroy the AppRole role's secret-ids (except this case's rotated one) and revoke the identity's tokens (with their child tokens and leases)",
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
  async run({ identityId, caseId }) {
    const role = await readRole(bao, identityId);
    const entity = await findEntity(bao, role);
    const rotations = await caseRotations(db, identityId, caseId);
    const secretIds = (await secretIdsOf(bao, role)).filter((s) => !issuedInCase(s, rotations));
    await mapLimit(secretIds, LOOKUP_CONCURRENCY, ({ accessor }) => destroySecretId(bao, role, accessor));
    const tokens = await tokensOf(bao, role, entity?.id);
    await mapLimit(tokens, LOOKUP_CONCURRENCY, ({ accessor }) =>
      bao.call('POST', 'auth/token/revoke-accessor', { accessor }, [400, 404]),
    );
    const [leftIds, leftTokens] = await Promise.all([secretIdsOf(bao, role), tokensOf(bao, role, entity?.id)]);
    const left = leftIds.filter((s) => !issuedInCase(s, rotations));
    if (left.length || leftTokens.length) {
      throw new Error(
        `OpenBao role "${identityId}" still has ${left.length} secret-id(s) and ${leftTokens.length} token(s) after revoking`,
      );
    }
    const changed = secretIds.length + tokens.length > 0;
    return {
      changed,
      detail: {
        secretIdsDestroyed: secretIds.map((s) => fingerprint(s.accessor)),
        tokensRevoked: tokens.map((t) => fingerprint(t.accessor)),
        ...(leftIds.length ? { secretIdsKept: leftIds.map((s) => fingerprint(s.accessor)) } : {}),
        ...(changed ? {} : { already: true }),
      },
    };
  },
});

/**
 * Post-condition of revoke: the identity has no token, and no secret-id except those this case's
 * rotate issued.
 */
export async function revoked(db: Database, bao: BaoClient, identityId: string, caseId: string): Promise<boolean> {
  const role = await readRole(bao, identityId);
  const entity = await findEntity(bao, role);
  const [ids, tokens, rotations] = await Promise.all([
    secretIdsOf(bao, role),
    tokensOf(bao, role, entity?.id),
    caseRotations(db, identityId, caseId),
  ]);
  return tokens.length === 0 && ids.every((s) => issuedInCase(s, rotations));
}
