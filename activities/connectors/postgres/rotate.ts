import { ApplicationFailure } from '@temporalio/activity';
import { fingerprint } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { refuseProtected, roleName, setVerifier, type RoleState } from './catalog';
import { PostgresFailure, refuse } from './client';
import { captureKey, load, type PostgresContext } from './context';
import { hasSalt, isCordonVerifier, randomPasswordVerifier, rotationSalt } from './scram';

/** Sensitive: the verifier before the rotation. Kept only in the capture, for the undo. */
interface RotateCapture {
  verifier: string | null;
}

/** The post-condition: the role's password is one a Cordon rotation set. */
export const isRotated = (s: RoleState) => isCordonVerifier(s.verifier);

const fp = (verifier: string | null) => (verifier === null ? null : fingerprint(verifier));

/**
 * Rotate: replace the password with a fresh random one whose value is discarded (there is no
 * secret store for PostgreSQL roles here): the old password stops working and nobody learns the
 * new one. Only its SCRAM verifier, computed locally, is sent. The verifier from before is kept in
 * the capture, so the undo restores it with ALTER ROLE … PASSWORD '<verifier>' and the old
 * password works again. The salt carries a Cordon marker derived from the idempotency key: a
 * retry recognises its own rotation and does nothing.
 */
export const rotateAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'rotate',
  description: 'ALTER ROLE … PASSWORD to an unknown random password (value discarded, no secret store); undo restores the previous SCRAM verifier',
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one): reading the verifier to restore',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role (superuser for a superuser role)',
  ],
  reversible: true,
  async run({ identityId, idempotencyKey }) {
    const { role, state, label } = await load(ctx, identityId, 'rotate');
    refuseProtected(state);
    const salt = rotationSalt(role, idempotencyKey);
    const key = captureKey(role, 'rotate');
    if (hasSalt(state.verifier, salt)) {
      return { changed: false, detail: { already: true, passwordFingerprint: fp(state.verifier), secretStored: false } };
    }
    // Unless the password is already a Cordon rotation (whose capture holds the one from before),
    // the current password is the pre-state: a capture left from an earlier rotation is stale.
    if (!isCordonVerifier(state.verifier)) await releaseCapture(ctx.db, key);
    const before = await capture<RotateCapture>(ctx.db, key, async () => ({ verifier: state.verifier }));
    const next = randomPasswordVerifier(salt);
    await ctx.access.transaction(label, (query) => setVerifier(query, role, next));
    const after = (await load(ctx, identityId, 'rotate')).state;
    if (!hasSalt(after.verifier, salt)) {
      throw ApplicationFailure.create({ type: PostgresFailure.NotApplied, message: `rotate of role "${role}" did not hold: the password changed concurrently` });
    }
    return {
      changed: true,
      detail: {
        passwordFingerprint: fp(next),
        previousPasswordFingerprint: fp(before.verifier),
        secretStored: false,
        note: 'random password discarded: no secret store is configured for PostgreSQL roles',
      },
    };
  },
  async undo({ identityId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'rotate');
    const before = await capturedFor<RotateCapture>(ctx.db, key);
    if (!before) return { changed: false, detail: { already: true, reason: 'no captured password to restore' } };
    const { state, label } = await load(ctx, identityId, 'undo of rotate');
    if (state.verifier !== before.verifier) {
      if (state.verifier === null && before.verifier !== null) {
        throw refuse(PostgresFailure.Conflict, `undo of rotate on role "${role}": the password was revoked after the rotation; restoring it would undo the revoke`);
      }
      if (!isCordonVerifier(state.verifier)) {
        throw refuse(PostgresFailure.Conflict, `undo of rotate on role "${role}": the password was changed outside Cordon after the rotation; not restoring the old one`);
      }
      await ctx.access.transaction(label, (query) => setVerifier(query, role, before.verifier));
      const after = (await load(ctx, identityId, 'undo of rotate')).state;
      if (after.verifier !== before.verifier) {
        throw ApplicationFailure.create({ type: PostgresFailure.NotApplied, message: `undo of rotate on role "${role}" did not restore the previous password` });
      }
      await releaseCapture(ctx.db, key);
      return { changed: true, detail: { restoredPasswordFingerprint: fp(before.verifier) } };
    }
    await releaseCapture(ctx.db, key);
    return { changed: false, detail: { already: true, passwordFingerprint: fp(state.verifier) } };
  },
});
