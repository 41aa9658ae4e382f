import { ApplicationFailure } from '@temporalio/activity';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { methodOf, refuseProtected, roleName, verifierFingerprint, type RoleState } from './catalog';
import { setVerifier } from './statements';
import { PostgresFailure, refuse } from './client';
import { captureKey, load, type PostgresContext } from './context';
import { hasSalt, isCordonVerifier, randomPasswordVerifier, rotationSalt } from './scram';

/**
 * What rotate keeps for its undo. Either the SCRAM-SHA-256 verifier from before (or null: no
 * password), or, for any other format, only that it was not kept.
 *
 * Why SCRAM verifiers are kept: the undo must bring the old password back, and the server only
 * accepts a verifier for that. A SCRAM verifier does not let anyone log in under scram-sha-256
 * authentication (the client must prove knowledge of the password-derived ClientKey, which the
 * verifier holds only hashed), but it allows an offline dictionary attack on the password, so it is
 * still sensitive: it lives only in `connector_captures`, never in a result, snapshot or message.
 * The workflow's plan treats rotate as irreversible, so a capture there can outlive its case; that
 * is acceptable only because of the property above.
 *
 * Why md5 (and any other) verifiers are never kept: an md5 verifier is password-equivalent under
 * md5 authentication (the challenge-response only needs md5(password ‖ role), which is the stored
 * verifier), so storing it would keep a working credential in Cordon's database for good. A
 * rotation of such a role still happens (it is what contains the leaked password) but cannot be
 * undone: its undo fails permanently and says so.
 */
type RotateCapture = { verifier: string | null } | { notKept: 'md5' | 'other' };

function keepable(verifier: string | null): RotateCapture {
  const method = methodOf(verifier);
  return method === null || method === 'scram-sha-256' ? { verifier } : { notKept: method };
}

/** The post-condition: the role's password is one a Cordon rotation set. */
export const isRotated = (s: RoleState) => isCordonVerifier(s.verifier);

/**
 * Rotate: replace the password with a fresh random one whose value is discarded (there is no
 * secret store for PostgreSQL roles here): the old password stops working and nobody learns the
 * new one. Only its SCRAM verifier, computed locally, is sent. A previous SCRAM verifier is kept in
 * the case's capture, so the undo restores it with ALTER ROLE … PASSWORD '<verifier>' and the old
 * password works again; an md5 one is not (see RotateCapture), and that undo refuses. The salt
 * carries a Cordon marker derived from the idempotency key: a retry recognises its own rotation
 * and does nothing.
 */
export const rotateAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'rotate',
  description:
    'ALTER ROLE … PASSWORD to an unknown random password (value discarded, no secret store); undo restores the previous SCRAM verifier (an md5 password is not kept, so its rotation cannot be undone)',
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one): reading the verifier to restore',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role (superuser for a superuser role)',
  ],
  reversible: true,
  async run({ identityId, idempotencyKey, caseId }) {
    const { role, state, label } = await load(ctx, identityId, 'rotate');
    refuseProtected(state);
    const salt = rotationSalt(role, idempotencyKey);
    if (hasSalt(state.verifier, salt)) {
      return {
        changed: false,
        detail: { already: true, passwordFingerprint: verifierFingerprint(state.verifier), secretStored: false },
      };
    }
    // The first capture of this case wins: a retry after the password was changed between attempts
    // (the post-condition failed) still restores the one from before the case, never the intruder's.
    const before = await capture<RotateCapture>(ctx.db, captureKey(role, 'rotate', caseId), async () =>
      keepable(state.verifier),
    );
    const next = randomPasswordVerifier(salt);
    await ctx.access.transaction(label, (query) => setVerifier(query, role, next));
    const after = (await load(ctx, identityId, 'rotate')).state;
    if (!hasSalt(after.verifier, salt)) {
      throw ApplicationFailure.create({
        type: PostgresFailure.NotApplied,
        message: `rotate of role "${role}" did not hold: the password changed concurrently`,
      });
    }
    const undoable = !('notKept' in before);
    return {
      changed: true,
      detail: {
        passwordFingerprint: verifierFingerprint(next),
        // Null for an md5 verifier: its unsalted hash could be attacked offline.
        previousPasswordFingerprint: undoable ? verifierFingerprint(before.verifier) : null,
        previousPasswordMethod: undoable ? methodOf(before.verifier) : before.notKept,
        undoable,
        secretStored: false,
        note: undoable
          ? 'random password discarded: no secret store is configured for PostgreSQL roles'
          : 'random password discarded; the previous md5 password is password-equivalent and was not kept, so this rotation cannot be undone',
      },
    };
  },
  async undo({ identityId, caseId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'rotate', caseId);
    const before = await capturedFor<RotateCapture>(ctx.db, key);
    if (!before) return { changed: false, detail: { already: true, reason: 'no captured password to restore' } };
    const { state, label } = await load(ctx, identityId, 'undo of rotate');
    if ('notKept' in before) {
      if (isCordonVerifier(state.verifier)) {
        throw refuse(
          PostgresFailure.NotRestorable,
          `undo of rotate on role "${role}": the password before the rotation was an ${before.notKept} verifier, which Cordon never keeps (it is password-equivalent); the old password cannot be restored, set a new one with ALTER ROLE … PASSWORD`,
        );
      }
      // No rotation of ours is in effect (it never took, or the password was changed or revoked since).
      await releaseCapture(ctx.db, key);
      return {
        changed: false,
        detail: { already: true, reason: 'no rotation in effect; the previous md5 password was never kept' },
      };
    }
    if (state.verifier !== before.verifier) {
      if (state.verifier === null && before.verifier !== null) {
        throw refuse(
          PostgresFailure.Conflict,
          `undo of rotate on role "${role}": the password was revoked after the rotation; restoring it would undo the revoke`,
        );
      }
      if (!isCordonVerifier(state.verifier)) {
        throw refuse(
          PostgresFailure.Conflict,
          `undo of rotate on role "${role}": the password was changed outside Cordon after the rotation; not restoring the old one`,
        );
      }
      await ctx.access.transaction(label, (query) => setVerifier(query, role, before.verifier));
      const after = (await load(ctx, identityId, 'undo of rotate')).state;
      if (after.verifier !== before.verifier) {
        throw ApplicationFailure.create({
          type: PostgresFailure.NotApplied,
          message: `undo of rotate on role "${role}" did not restore the previous password`,
        });
      }
      await releaseCapture(ctx.db, key);
      return { changed: true, detail: { restoredPasswordFingerprint: verifierFingerprint(before.verifier) } };
    }
    await releaseCapture(ctx.db, key);
    return { changed: false, detail: { already: true, passwordFingerprint: verifierFingerprint(state.verifier) } };
  },
});
