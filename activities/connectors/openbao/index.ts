import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import type { ActionName, Connector } from '../types';
import { BaoClient, type OpenBaoSettings } from './client';
import { findEntity, readRole, ROTATION_MARK, secretIdsOf, tokensOf } from './identity';
import { isolateAction, isolated } from './isolate';
import { restrictAction, restricted } from './restrict';
import { revokeAction, revoked } from './revoke';
import { rotateAction, rotated } from './rotate';

/**
 * The `openbao` identity system (OpenBao or HashiCorp Vault). An identity is an AppRole role on
 * `auth/approle/` (identityId = role name) and the identity entity its logins are bound to.
 * Plain HTTP; the client does not connect until an action or snapshot runs.
 */
export function createOpenBaoConnector(db: Database, settings: OpenBaoSettings): Connector {
  const bao = new BaoClient(settings);
  const POST_CONDITIONS: Record<ActionName, (identityId: string, caseId: string) => Promise<boolean>> = {
    restrict: (id) => restricted(bao, id),
    isolate: (id) => isolated(bao, id),
    revoke: (id, caseId) => revoked(db, bao, id, caseId),
    rotate: (id, caseId) => rotated(db, bao, id, caseId),
  };
  return {
    name: 'openbao',
    description:
      'OpenBao / Vault AppRole machine identities: entity policies, entity disable, token and secret-id revocation, KV v2 rotation',
    actions: {
      restrict: restrictAction(db, bao),
      isolate: isolateAction(db, bao),
      revoke: revokeAction(db, bao),
      rotate: rotateAction(db, bao),
    },
    /**
     * Role settings and entity state; secret-ids and tokens under `observed` (they expire, are
     * consumed or get issued by themselves, so a rollback does not expect them back). Accessors as
     * fingerprints, no secret values.
     */
    async snapshot(identityId) {
      const role = await readRole(bao, identityId);
      const entity = await findEntity(bao, role);
      const [secretIds, tokens] = await Promise.all([secretIdsOf(bao, role), tokensOf(bao, role, entity?.id)]);
      return {
        role: role.name,
        roleIdFingerprint: fingerprint(role.roleId),
        config: role.config,
        entity: entity
          ? { id: entity.id, name: entity.name, disabled: entity.disabled, policies: entity.policies }
          : null,
        observed: {
          secretIds: secretIds.map((s) => ({
            accessor: fingerprint(s.accessor),
            createdAt: s.creationTime,
            expiresAt: s.expirationTime,
            issuedByCordon: s.metadata[ROTATION_MARK] !== undefined,
          })),
          tokens: tokens.map((t) => ({
            accessor: fingerprint(t.accessor),
            policies: t.policies,
            type: t.type,
            renewable: t.renewable,
            issuedAt: t.issueTime,
            expiresAt: t.expireTime,
            path: t.path,
          })),
        },
      };
    },
    verify: (identityId, action, caseId) => POST_CONDITIONS[action](identityId, caseId),
  };
}
