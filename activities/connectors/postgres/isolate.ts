import { ApplicationFailure } from '@temporalio/activity';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { refuseProtected, roleName, setLogin, terminateSessions, type RoleState } from './catalog';
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
    'pg_signal_backend (cannot end superusers\' sessions)',
    'pg_read_all_stats for full session evidence',
  ],
  reversible: true,
  async run({ identityId }) {
    const { role, state, label } = await load(ctx, identityId, 'isolate');
    refuseProtected(state);
    const key = captureKey(role, 'isolate');
    if (isIsolated(state)) {
      await capture<IsolateCapture>(ctx.db, key, async () => ({ canLogin: false }));
      return { changed: false, detail: { already: true, canLogin: false, sessions: 0 } };
    }
    // LOGIN now means no isolation of ours is in effect: a capture left from before is stale.
    if (state.allFlags.canLogin) await releaseCapture(ctx.db, key);
    await capture<IsolateCapture>(ctx.db, key, async () => ({ canLogin: state.allFlags.canLogin }));
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
  async undo({ identityId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'isolate');
    const before = await capturedFor<IsolateCapture>(ctx.db, key);
    if (!before) return { changed: false, detail: { already: true, reason: 'no captured isolation to undo' } };
    const { state, label } = await load(ctx, identityId, 'undo of isolate');
    const changed = before.canLogin && !state.allFlags.canLogin;
    if (changed) {
      await ctx.access.transaction(label, (query) => setLogin(query, role, true));
      const after = (await load(ctx, identityId, 'undo of isolate')).state;
      if (!after.allFlags.canLogin) {
        throw ApplicationFailure.create({ type: PostgresFailure.NotApplied, message: `undo of isolate on role "${role}" did not restore LOGIN` });
      }
    }
    await releaseCapture(ctx.db, key);
    return { changed, detail: changed ? { canLogin: true } : { already: true, canLogin: state.allFlags.canLogin } };
  },
});
