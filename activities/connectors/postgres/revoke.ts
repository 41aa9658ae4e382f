import { ApplicationFailure } from '@temporalio/activity';
import type { ConnectorAction } from '../types';
import { refuseProtected, verifierFingerprint, type RoleState } from './catalog';
import { setVerifier, terminateSessions } from './statements';
import { PostgresFailure } from './client';
import { load, type PostgresContext } from './context';

/** The post-condition: no password at all, and no session opened with the old one. */
export const isRevoked = (s: RoleState) => s.verifier === null && s.sessions.length === 0;

/**
 * Revoke: ALTER ROLE … PASSWORD NULL, then end every session. With no stored verifier, password
 * authentication (scram-sha-256, md5, password) always fails, and the old verifier is gone for
 * good: nothing keeps it, so there is no undo. Giving the role a credential again is an operator's
 * decision (ALTER ROLE … PASSWORD), outside Cordon.
 */
export const revokeAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'revoke',
  description:
    'ALTER ROLE … PASSWORD NULL (the password can never authenticate again) and terminate every session of the role',
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one)',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role (superuser for a superuser role)',
    "pg_signal_backend (cannot end superusers' sessions)",
  ],
  reversible: false,
  async run({ identityId }) {
    const { role, state, label } = await load(ctx, identityId, 'revoke');
    refuseProtected(state);
    if (isRevoked(state)) return { changed: false, detail: { already: true, passwordSet: false, sessions: 0 } };
    // Null for an md5 verifier (unsalted, so its hash could be attacked offline): see verifierFingerprint.
    const previous = verifierFingerprint(state.verifier);
    if (state.verifier !== null) await ctx.access.transaction(label, (query) => setVerifier(query, role, null));
    const ended = await terminateSessions(ctx.access.reader(label), state.oid);
    const after = (await load(ctx, identityId, 'revoke')).state;
    if (!isRevoked(after)) {
      throw ApplicationFailure.create({
        type: PostgresFailure.NotApplied,
        message: `revoke of role "${role}" did not hold: ${after.verifier === null ? `${after.sessions.length} sessions remain` : 'a password is set again'}`,
      });
    }
    return {
      changed: true,
      detail: { passwordSet: false, revokedPasswordFingerprint: previous, sessionsTerminated: ended },
    };
  },
});
