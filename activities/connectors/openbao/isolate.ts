import type { Database } from '../../../src/db';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { BaoClient, seg } from './client';
import { ensureEntity, findEntity, lookupToken, readEntity, readRole, tokensOf, READ_ROLE, BIND_ENTITY, FIND_TOKENS } from './identity';

/** Isolated tokens live at most this long, even if someone re-enables the entity behind Cordon's back. */
export const ISOLATED_TOKEN_TTL_SECONDS = 15 * 60;

interface IsolateCapture {
  entityId: string;
  disabled: boolean;
  /** Token expiry before isolate shortened it (accessor → ISO time); accessors stay in the Cordon database. */
  tokens: { accessor: string; expireTime: string | null }[];
}

const key = (identityId: string) => ({ provider: 'openbao', identityId, action: 'isolate' });

/** Renews a token by accessor so it expires `seconds` from now (renew-accessor also shortens). */
async function setTtl(bao: BaoClient, accessor: string, seconds: number): Promise<boolean> {
  const res = await bao.call('POST', 'auth/token/renew-accessor', { accessor, increment: `${Math.max(1, Math.round(seconds))}s` }, [400]);
  return res.status === 200;
}

/** Isolate: disable the entity (its tokens and logins are refused) and cap its tokens' TTL. */
export const isolateAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'isolate',
  description: "Disable the AppRole identity's entity (existing tokens and new logins are refused) and cap its tokens' remaining TTL",
  permissions: [
    ...READ_ROLE,
    ...BIND_ENTITY,
    ...FIND_TOKENS,
    'auth/token/renew-accessor (update)',
  ],
  reversible: true,
  async run({ identityId }) {
    const role = await readRole(bao, identityId);
    const entity = await ensureEntity(bao, role);
    const tokens = await tokensOf(bao, role, entity.id);
    await capture<IsolateCapture>(db, key(identityId), async () => ({
      entityId: entity.id,
      disabled: entity.disabled,
      tokens: tokens.map((t) => ({ accessor: t.accessor, expireTime: t.expireTime })),
    }));
    let capped = 0;
    for (const token of tokens) {
      if (!token.renewable || token.ttl <= ISOLATED_TOKEN_TTL_SECONDS + 5) continue;
      if (await setTtl(bao, token.accessor, ISOLATED_TOKEN_TTL_SECONDS)) capped += 1;
    }
    const wasDisabled = entity.disabled;
    if (!wasDisabled) await bao.post(`identity/entity/id/${seg(entity.id)}`, { disabled: true });
    const after = await readEntity(bao, entity.id);
    if (!after.disabled) throw new Error(`OpenBao entity of role "${identityId}" is still enabled after disabling it`);
    const changed = !wasDisabled || capped > 0;
    return {
      changed,
      detail: { entityId: entity.id, disabled: true, tokens: tokens.length, tokensCapped: capped, tokenTtlCapSeconds: ISOLATED_TOKEN_TTL_SECONDS, ...(changed ? {} : { already: true }) },
    };
  },
  async undo({ identityId }) {
    const before = await capturedFor<IsolateCapture>(db, key(identityId));
    if (!before) return { changed: false, detail: { already: true, reason: 'nothing captured: isolate never took effect' } };
    await readRole(bao, identityId);
    const entity = await readEntity(bao, before.entityId);
    let changed = false;
    if (entity.disabled !== before.disabled) {
      await bao.post(`identity/entity/id/${seg(entity.id)}`, { disabled: before.disabled });
      changed = true;
    }
    // Give each still-live token its captured expiry back (to the second); expired ones are gone for good.
    let restored = 0;
    let expired = 0;
    for (const { accessor, expireTime } of before.tokens) {
      const now = await lookupToken(bao, accessor);
      if (!now) {
        expired += 1;
        continue;
      }
      if (!expireTime || !now.info.expireTime || !now.info.renewable) continue;
      const serverNow = Date.parse(now.info.expireTime) - now.info.ttl * 1000;
      const wanted = (Date.parse(expireTime) - serverNow) / 1000;
      if (wanted - now.info.ttl > 2 && (await setTtl(bao, accessor, wanted))) {
        restored += 1;
        changed = true;
      }
    }
    const after = await readEntity(bao, entity.id);
    if (after.disabled !== before.disabled) throw new Error(`OpenBao entity of role "${identityId}" was not re-enabled`);
    await releaseCapture(db, key(identityId));
    return { changed, detail: { entityId: entity.id, disabled: after.disabled, tokensRestored: restored, tokensExpired: expired, ...(changed ? {} : { already: true }) } };
  },
});

/** Post-condition of isolate: the entity is disabled. */
export async function isolated(bao: BaoClient, identityId: string): Promise<boolean> {
  const entity = await findEntity(bao, await readRole(bao, identityId));
  return entity?.disabled === true;
}
