import { ApplicationFailure } from '@temporalio/activity';
import { canonicalJson } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import {
  alterFlags,
  ELEVATED_FLAGS,
  isRestricted,
  privilegesOf,
  refuseProtected,
  regrant,
  regrantMembership,
  revokeGrant,
  revokeMembership,
  roleName,
  type ElevatedFlag,
  type Privileges,
} from './catalog';
import { PostgresFailure } from './client';
import { captureKey, load, type PostgresContext } from './context';

const onFlags = (p: Privileges) => (Object.keys(ELEVATED_FLAGS) as ElevatedFlag[]).filter((f) => p.flags[f]);
const missingFrom = <T>(wanted: T[], present: T[]) => {
  const have = new Set(present.map(canonicalJson));
  return wanted.filter((item) => !have.has(canonicalJson(item)));
};

/**
 * Restrict: REVOKE every privilege granted directly to the role on tables, sequences, schemas
 * and databases, every role membership, and the elevated role attributes, in one transaction.
 * The role can still log in (that is isolate). Undo re-GRANTs exactly what was captured.
 */
export const restrictAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'restrict',
  description:
    'REVOKE the role\'s direct table/sequence/schema/database privileges and role memberships, and turn off SUPERUSER, CREATEROLE, CREATEDB, REPLICATION and BYPASSRLS',
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one)',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role and on each role it is a member of',
    'membership (with SET on 16+) in each grantor of the revoked privileges, usually the object owners',
    'superuser to change SUPERUSER, REPLICATION or BYPASSRLS',
  ],
  reversible: true,
  async run({ identityId }) {
    const { role, state, label } = await load(ctx, identityId, 'restrict');
    refuseProtected(state);
    const held = privilegesOf(state);
    const key = captureKey(role, 'restrict');
    if (isRestricted(held)) {
      // Keeps the capture of a restriction already in effect (a retry), or records that there was nothing to take.
      await capture(ctx.db, key, async () => held);
      return { changed: false, detail: { already: true, restricted: true } };
    }
    // A restriction commits in one transaction, so none is in effect now: what the role holds is the
    // pre-state, and a capture left by an earlier containment that was never undone is stale.
    await releaseCapture(ctx.db, key);
    await capture(ctx.db, key, async () => held);
    await ctx.access.transaction(label, async (query) => {
      for (const grant of held.grants) await revokeGrant(query, role, state.connectorRole, grant);
      for (const membership of held.memberOf) await revokeMembership(query, role, membership);
      await alterFlags(query, role, onFlags(held), false);
    });
    const after = privilegesOf((await load(ctx, identityId, 'restrict')).state);
    if (!isRestricted(after)) {
      throw ApplicationFailure.create({
        type: PostgresFailure.NotApplied,
        message: `restrict of role "${role}" did not hold: it still has ${after.grants.length} grants and ${after.memberOf.length} memberships (changed concurrently?)`,
      });
    }
    return {
      changed: true,
      detail: {
        restricted: true,
        revokedGrants: held.grants.length,
        revokedMemberships: held.memberOf.map((m) => m.role),
        flagsTurnedOff: onFlags(held),
      },
    };
  },
  async undo({ identityId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'restrict');
    const before = await capturedFor<Privileges>(ctx.db, key);
    if (!before) return { changed: false, detail: { already: true, reason: 'no captured restriction to undo' } };
    const { state, label } = await load(ctx, identityId, 'undo of restrict');
    const now = privilegesOf(state);
    const grants = missingFrom(before.grants, now.grants);
    const memberships = missingFrom(before.memberOf, now.memberOf);
    const flags = onFlags(before).filter((f) => !now.flags[f]);
    if (grants.length || memberships.length || flags.length) {
      await ctx.access.transaction(label, async (query) => {
        for (const grant of grants) await regrant(query, role, state.connectorRole, grant);
        for (const membership of memberships) await regrantMembership(query, role, state.connectorRole, membership);
        await alterFlags(query, role, flags, true);
      });
      const after = privilegesOf((await load(ctx, identityId, 'undo of restrict')).state);
      const stillMissing = missingFrom(before.grants, after.grants).length + missingFrom(before.memberOf, after.memberOf).length;
      if (stillMissing || onFlags(before).some((f) => !after.flags[f])) {
        throw ApplicationFailure.create({
          type: PostgresFailure.NotApplied,
          message: `undo of restrict on role "${role}" did not restore ${stillMissing} grants or memberships`,
        });
      }
    }
    await releaseCapture(ctx.db, key);
    const changed = grants.length + memberships.length + flags.length > 0;
    return {
      changed,
      detail: changed
        ? { restoredGrants: grants.length, restoredMemberships: memberships.map((m) => m.role), flagsTurnedOn: flags }
        : { already: true },
    };
  },
});
