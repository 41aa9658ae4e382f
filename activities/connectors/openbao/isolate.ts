import type { Database } from '../../../src/db';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { BaoClient, seg } from './client';
import { restoreEntity, ensureEntity, findEntity, readEntity, readRole, READ_ROLE, BIND_ENTITY } from './identity';

/** What isolate found, in this case, before changing anything. */
interface IsolateCapture {
  /** True when the role had no entity: Cordon creates it, and the undo deletes it again. */
  createdEntity: boolean;
  entityId?: string;
  disabled: boolean;
}

const key = (identityId: string, caseId: string) => ({ provider: 'openbao', identityId, action: 'isolate', caseId });

/**
 * Isolate: disable the entity. OpenBao then refuses every request of its tokens (service, batch
 * and child tokens alike) and every new login of the role, for as long as it stays disabled.
 *
 * Token TTLs are deliberately left alone. Capping them (an earlier design, as defence in depth
 * against someone re-enabling the entity) made isolate irreversible once the cap ran out: a false
 * positive found after the verify window would find the workload's tokens expired. The disabled
 * entity already blocks the tokens, `verify` checks that it stays disabled, and ending tokens for
 * good is what the (irreversible) revoke action is for.
 */
export const isolateAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'isolate',
  description:
    "Disable the AppRole identity's entity: its existing tokens and new logins are refused until it is re-enabled",
  permissions: [...READ_ROLE, ...BIND_ENTITY],
  reversible: true,
  async run({ identityId, caseId }) {
    const role = await readRole(bao, identityId);
    // Captured before anything changes (also before the entity is created), once per case.
    const before = await capture<IsolateCapture>(db, key(identityId, caseId), async () => {
      const found = await findEntity(bao, role);
      return { createdEntity: !found, entityId: found?.id, disabled: found?.disabled ?? false };
    });
    const entity = await ensureEntity(bao, role, caseId);
    const wasDisabled = entity.disabled;
    if (!wasDisabled) await bao.post(`identity/entity/id/${seg(entity.id)}`, { disabled: true });
    const after = await readEntity(bao, entity.id);
    if (!after.disabled) throw new Error(`OpenBao entity of role "${identityId}" is still enabled after disabling it`);
    const changed = !wasDisabled;
    return {
      changed,
      detail: {
        entityId: entity.id,
        ...(before.createdEntity ? { entityCreated: true } : {}),
        disabled: true,
        ...(changed ? {} : { already: true }),
      },
    };
  },
  async undo({ identityId, caseId }) {
    const before = await capturedFor<IsolateCapture>(db, key(identityId, caseId));
    if (!before)
      return {
        changed: false,
        detail: { already: true, reason: 'nothing captured: isolate never took effect in this case' },
      };
    const role = await readRole(bao, identityId);
    const { changed, ended } = await restoreEntity(bao, role, before, 'disabled', before.disabled);
    await releaseCapture(db, key(identityId, caseId));
    return {
      changed,
      detail: {
        entityId: before.entityId,
        ...(ended ? { entityDeleted: ended.deleted, tokensEnded: ended.tokensEnded } : { disabled: before.disabled }),
        ...(changed ? {} : { already: true }),
      },
    };
  },
});

/** Post-condition of isolate: the entity is disabled. */
export async function isolated(bao: BaoClient, identityId: string): Promise<boolean> {
  const entity = await findEntity(bao, await readRole(bao, identityId));
  return entity?.disabled === true;
}
