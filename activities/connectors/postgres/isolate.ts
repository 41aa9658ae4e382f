import { ApplicationFailure } from '@temporalio/activity';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { refuseProtected, roleName, type RoleState } from './catalog';
import { setLogin, terminateSessions } from './statements';
import { PostgresFailure } from './client';
import { captureKey, load, type PostgresContext } from './context';

interface IsolateCapture {
  canLogin: boolean;
}

/** The post-condition: the role cannot log in and has no session left. */
export const isIsolated = (s: RoleState) => !s.allFlags.canLogin && s.sessions.length === 0;

/**
 * Isolate: ALTER ROLE … NOLOGIN (committed first, so nobody reconnects), then end every session
 * with pg_terminate_backend. Undo gives LOGIN back when the role had it; ended sessions stay ended.
 */
export const isolateAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'isolate',
  description: 'ALTER ROLE … NOLOGIN and terminate every session of the role (pg_terminate_backend)',
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one)',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role (superuser for a superuser role)',
    "pg_signal_backend (cannot end superusers' sessions)",
    'pg_read_all_stats for full session evidence',
  ],
  reversible: true,
  async run({ identityId, caseId }) {
    const { role, state, label } = await load(ctx, identityId, 'isolate');
    refuseProtected(state);
    // The first capture of this case wins: a retry after LOGIN was turned back on (by someone
    // else, between attempts) must not record LOGIN as the state to restore. Another case's
    // capture is never consulted: a role an earlier case left NOLOGIN stays NOLOGIN on undo.
    await capture<IsolateCapture>(ctx.db, captureKey(role, 'isolate', caseId), async () => ({
      canLogin: state.allFlags.canLogin,
    }));
    if (isIsolated(state)) return { changed: false, detail: { already: true, canLogin: false, sessions: 0 } };
    if (state.allFlags.canLogin) await ctx.access.transaction(label, (query) => setLogin(query, role, false));
    const ended = await terminateSessions(ctx.access.reader(label), state.oid);
    const after = (await load(ctx, identityId, 'isolate')).state;
    if (!isIsolated(after)) {
      throw ApplicationFailure.create({
        type: PostgresFailure.NotApplied,
        message: `isolate of role "${role}" did not hold: ${after.sessions.length} sessions remain`,
      });
    }
    return { changed: true, detail: { canLogin: false, sessionsTerminated: ended } };
  },
  async undo({ identityId, caseId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'isolate', caseId);
    const before = await capturedFor<IsolateCapture>(ctx.db, key);
    if (!before) return { changed: false, detail: { already: true, reason: 'no captured isolation to undo' } };
    const { state, label } = await load(ctx, identityId, 'undo of isolate');
    const changed = before.canLogin && !state.allFlags.canLogin;
    if (changed) {
      await ctx.access.transaction(label, (query) => setLogin(query, role, true));
      const after = (await load(ctx, identityId, 'undo of isolate')).state;
      if (!after.allFlags.canLogin) {
        throw ApplicationFailure.create({
          type: PostgresFailure.NotApplied,
          message: `undo of isolate on role "${role}" did not restore LOGIN`,
        });
      }
    }
    await releaseCapture(ctx.db, key);
    return { changed, detail: changed ? { canLogin: true } : { already: true, canLogin: state.allFlags.canLogin } };
  },
});
