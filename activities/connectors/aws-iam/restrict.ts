import type { Database } from '../../../src/db';
import { digestOf } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { notYet, type AwsClients } from './client';
import {
  getInlinePolicy,
  principalOf,
  putInlinePolicy,
  requireExists,
  restoreInlinePolicy,
  type PolicyDocument,
} from './principal';
import {
  QUARANTINE_PERMISSIONS,
  QUARANTINE_POLICY_ARN,
  quarantine,
  quarantineHolds,
  releaseQuarantine,
} from './quarantine';

/** The inline policy restrict adds: an explicit deny wins over every allow the principal has. */
export const RESTRICT_POLICY = 'cordon-restrict';
export const RESTRICT_DOCUMENT: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'CordonContainmentDenyAll', Effect: 'Deny', Action: '*', Resource: '*' }],
};

/**
 * What restrict keeps before its first attempt in a case: the policy of that name, if there was
 * one. A later case captures afresh, so if an earlier case left the deny in place, this case's
 * undo leaves it there too.
 */
interface RestrictCapture {
  before: PolicyDocument | null;
}

const denyInPlace = async (clients: AwsClients, identityId: string) => {
  const doc = await getInlinePolicy(clients, principalOf(identityId), RESTRICT_POLICY);
  return doc !== undefined && digestOf(doc) === digestOf(RESTRICT_DOCUMENT);
};

/** True when the deny-all inline policy is in place, and the quarantine policy if the case attached it. */
export async function restricted(
  db: Database,
  clients: AwsClients,
  identityId: string,
  caseId: string,
): Promise<boolean> {
  return (await denyInPlace(clients, identityId)) && quarantineHolds(db, clients, identityId, caseId);
}

/**
 * Restrict: attach an inline deny-all policy (PutUserPolicy / PutRolePolicy) and, with the
 * quarantine option, AWS's managed quarantine policy (AttachUserPolicy / AttachRolePolicy). Undo
 * puts the policy name back to what it was before the case's first attempt (normally: deletes it)
 * and detaches the quarantine policy unless it was attached before the case.
 */
export const restrictAction = (db: Database, clients: AwsClients): ConnectorAction => {
  const key = (identityId: string, caseId: string) => ({ provider: 'aws-iam', identityId, caseId, action: 'restrict' });
  const withQuarantine = clients.settings.quarantinePolicy === true;
  return {
    name: 'restrict',
    description:
      `Attach the inline deny-all policy "${RESTRICT_POLICY}" to the IAM user or role` +
      (withQuarantine ? `, and the managed policy ${QUARANTINE_POLICY_ARN}` : ''),
    permissions: [
      'iam:GetUser',
      'iam:GetRole',
      'iam:GetUserPolicy',
      'iam:GetRolePolicy',
      'iam:PutUserPolicy',
      'iam:PutRolePolicy',
      'iam:DeleteUserPolicy',
      'iam:DeleteRolePolicy',
      ...(withQuarantine ? QUARANTINE_PERMISSIONS : []),
    ],
    reversible: true,
    async run({ identityId, caseId }) {
      const p = principalOf(identityId);
      await requireExists(clients, p);
      await capture<RestrictCapture>(db, key(identityId, caseId), async () => ({
        before: (await getInlinePolicy(clients, p, RESTRICT_POLICY)) ?? null,
      }));
      const already = await denyInPlace(clients, identityId);
      if (!already) await putInlinePolicy(clients, p, RESTRICT_POLICY, RESTRICT_DOCUMENT);
      const attached = await quarantine(db, clients, identityId, caseId);
      if (!(await restricted(db, clients, identityId, caseId)))
        throw notYet(`the deny policies on ${p.label} are not visible yet`);
      const changed = !already || attached === true;
      return {
        changed,
        detail: {
          policy: RESTRICT_POLICY,
          ...(attached !== undefined && { quarantinePolicy: QUARANTINE_POLICY_ARN }),
          ...(changed ? {} : { already: true }),
        },
      };
    },
    async undo({ identityId, caseId }) {
      const p = principalOf(identityId);
      const kept = await capturedFor<RestrictCapture>(db, key(identityId, caseId));
      if (!kept) return { changed: false, detail: { policy: RESTRICT_POLICY, already: true } };
      await requireExists(clients, p);
      const quarantined = await releaseQuarantine(db, clients, identityId, caseId);
      const restored = await restoreInlinePolicy(clients, p, RESTRICT_POLICY, kept.before);
      const now = await getInlinePolicy(clients, p, RESTRICT_POLICY);
      if ((now ? digestOf(now) : null) !== (kept.before ? digestOf(kept.before) : null) || quarantined?.back === false)
        throw notYet(`the restrict policies on ${p.label} are not back to their state before the case yet`);
      await releaseCapture(db, key(identityId, caseId));
      const changed = restored || quarantined?.changed === true;
      return {
        changed,
        detail: {
          policy: RESTRICT_POLICY,
          restored: kept.before === null ? 'absent' : digestOf(kept.before),
          ...(quarantined && { quarantinePolicy: quarantined.detail }),
          ...(changed ? {} : { already: true }),
        },
      };
    },
  };
};
