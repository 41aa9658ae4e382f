import { ApplicationFailure } from '@temporalio/activity';
import { canonicalJson } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import {
  describeNotCovered,
  ELEVATED_FLAGS,
  isRestricted,
  nothingUncovered,
  privilegesOf,
  refuseProtected,
  roleName,
  type ElevatedFlag,
  type Privileges,
  type RoleState,
} from './catalog';
import { alterFlags, regrant, regrantMembership, revokeGrant, revokeMembership } from './statements';
import { PostgresFailure } from './client';
import { captureKey, load, type PostgresContext } from './context';

const onFlags = (p: Privileges) => (Object.keys(ELEVATED_FLAGS) as ElevatedFlag[]).filter((f) => p.flags[f]);
const missingFrom = <T>(wanted: T[], present: T[]) => {
  const have = new Set(present.map(canonicalJson));
  return wanted.filter((item) => !have.has(canonicalJson(item)));
};

/**
 * Refuses, permanently and before changing anything, a role that holds what restrict cannot take
 * away: objects it owns (an owner holds every privilege on them implicitly and can GRANT itself
 * anything back), ACL entries on objects restrict has no REVOKE for, and anything in another
 * database. Claiming "restricted" there would be false; retrying would not change it. Isolate (or
 * an operator's REASSIGN OWNED / REVOKE) is the way to contain such a role.
 */
function refuseNotCovered(role: string, state: RoleState): void {
  if (nothingUncovered(state.notCovered)) return;
  throw ApplicationFailure.create({
    type: PostgresFailure.NotCovered,
    message: `restrict of role "${role}" cannot take away everything the role can use: ${describeNotCovered(state.notCovered)}. Nothing was changed by this attempt; isolate the role, or reassign/revoke these by hand`,
    nonRetryable: true,
    details: [{ notCovered: state.notCovered }],
  });
}

/**
 * Restrict: REVOKE every privilege granted directly to the role (on tables, columns, sequences,
 * routines, types, schemas, languages, foreign-data wrappers and servers, large objects,
 * databases and parameters), every role membership, and the elevated role attributes, in one
 * transaction. The role can still log in (that is isolate). Undo re-GRANTs exactly what this
 * case captured. Roles that own objects or hold privileges elsewhere are refused (see above).
 */
export const restrictAction = (ctx: PostgresContext): ConnectorAction => ({
  name: 'restrict',
  description:
    "REVOKE the role's direct object privileges (tables, columns, sequences, routines, types, schemas, languages, foreign-data wrappers/servers, large objects, databases, parameters) and role memberships, and turn off SUPERUSER, CREATEROLE, CREATEDB, REPLICATION and BYPASSRLS; refuses roles that own objects",
  permissions: [
    'SELECT on pg_catalog.pg_authid (superuser, or granted by one)',
    'CREATEROLE, and on PostgreSQL 16+ ADMIN OPTION on the managed role and on each role it is a member of',
    'membership (with SET on 16+) in each grantor of the revoked privileges, usually the object owners',
    'superuser to change SUPERUSER, REPLICATION or BYPASSRLS, and for parameter privileges',
  ],
  reversible: true,
  async run({ identityId, caseId }) {
    const { role, state, label } = await load(ctx, identityId, 'restrict');
    refuseProtected(state);
    refuseNotCovered(role, state);
    const held = privilegesOf(state);
    // The first capture of this case wins: a retry (whose earlier attempt may have committed, with
    // something re-granted since) keeps the state from before the case acted, never recaptures.
    // Another case's capture is never consulted: this case undoes to what it found.
    await capture(ctx.db, captureKey(role, 'restrict', caseId), async () => held);
    const notCovered = { ...state.notCovered, defaultPrivileges: state.defaultPrivileges };
    if (isRestricted(held)) return { changed: false, detail: { already: true, restricted: true, notCovered } };
    await ctx.access.transaction(label, async (query) => {
      for (const grant of held.grants) await revokeGrant(query, role, state.connectorRole, grant);
      for (const membership of held.memberOf) await revokeMembership(query, role, membership);
      await alterFlags(query, role, onFlags(held), false);
    });
    const after = (await load(ctx, identityId, 'restrict')).state;
    refuseNotCovered(role, after);
    const left = privilegesOf(after);
    if (!isRestricted(left)) {
      throw ApplicationFailure.create({
        type: PostgresFailure.NotApplied,
        message: `restrict of role "${role}" did not hold: it still has ${left.grants.length} grants and ${left.memberOf.length} memberships (changed concurrently?)`,
      });
    }
    return {
      changed: true,
      detail: {
        restricted: true,
        revokedGrants: held.grants.length,
        revokedMemberships: held.memberOf.map((m) => m.role),
        flagsTurnedOff: onFlags(held),
        // Default privileges grant nothing on existing objects: reported, not changed.
        notCovered,
      },
    };
  },
  async undo({ identityId, caseId }) {
    const role = roleName(identityId);
    const key = captureKey(role, 'restrict', caseId);
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
      const stillMissing =
        missingFrom(before.grants, after.grants).length + missingFrom(before.memberOf, after.memberOf).length;
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
