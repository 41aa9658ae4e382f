import type { Database } from '../../../src/db';
import type { ActionName, Connector, ConnectorSettings } from '../types';
import { restrictHolds, snapshotOf, type RoleState } from './catalog';
import { PostgresAccess } from './client';
import { load, PROVIDER, type PostgresContext } from './context';
import { isIsolated, isolateAction } from './isolate';
import { restrictAction } from './restrict';
import { isRevoked, revokeAction } from './revoke';
import { isRotated, rotateAction } from './rotate';

const POST_CONDITIONS: Record<ActionName, (s: RoleState) => boolean> = {
  // Not restricted while the role owns objects or holds privileges restrict cannot remove.
  restrict: restrictHolds,
  isolate: isIsolated,
  revoke: isRevoked,
  rotate: isRotated,
};

/**
 * PostgreSQL roles (identity id = role name) on the server of `settings.postgres.url`. Grants
 * are read in that URL's database (plus database-level grants of the whole cluster). Nothing
 * connects until the first call.
 */
export function createPostgresConnector(db: Database, settings: NonNullable<ConnectorSettings['postgres']>) {
  const ctx: PostgresContext = { db, access: new PostgresAccess(settings.url) };
  const connector: Connector & { close(): Promise<void> } = {
    name: PROVIDER,
    description: 'PostgreSQL roles: REVOKE privileges, NOLOGIN and end sessions, clear or replace the password',
    actions: {
      restrict: restrictAction(ctx),
      isolate: isolateAction(ctx),
      revoke: revokeAction(ctx),
      rotate: rotateAction(ctx),
    },
    /** Flags, password fingerprint (never the verifier), direct grants, memberships, sessions. */
    async snapshot(identityId) {
      return snapshotOf((await load(ctx, identityId, 'snapshot')).state);
    },
    // No post-condition here depends on a capture, so the case id is not needed.
    async verify(identityId, action, _caseId) {
      return POST_CONDITIONS[action]((await load(ctx, identityId, `verify of ${action}`)).state);
    },
    close: () => ctx.access.close(),
  };
  return connector;
}
