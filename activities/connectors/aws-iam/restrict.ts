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

/** True when the deny-all inline policy is in place. */
export async function restricted(clients: AwsClients, identityId: string): Promise<boolean> {
  const doc = await getInlinePolicy(clients, principalOf(identityId), RESTRICT_POLICY);
  return doc !== undefined && digestOf(doc) === digestOf(RESTRICT_DOCUMENT);
}

/**
 * Restrict: attach an inline deny-all policy (PutUserPolicy / PutRolePolicy). Undo puts the
 * policy name back to what it was before the case's first attempt (normally: deletes it).
 */
export const restrictAction = (db: Database, clients: AwsClients): ConnectorAction => {
  const key = (identityId: string, caseId: string) => ({ provider: 'aws-iam', identityId, caseId, action: 'restrict' });
  return {
    name: 'restrict',
    description: `Attach the inline deny-all policy "${RESTRICT_POLICY}" to the IAM user or role`,
    permissions: [
      'iam:GetUser',
      'iam:GetRole',
      'iam:GetUserPolicy',
      'iam:GetRolePolicy',
      'iam:PutUserPolicy',
      'iam:PutRolePolicy',
      'iam:DeleteUserPolicy',
      'iam:DeleteRolePolicy',
    ],
    reversible: true,
    async run({ identityId, caseId }) {
      const p = principalOf(identityId);
      await requireExists(clients, p);
      await capture<RestrictCapture>(db, key(identityId, caseId), async () => ({
        before: (await getInlinePolicy(clients, p, RESTRICT_POLICY)) ?? null,
      }));
      const already = await restricted(clients, identityId);
      if (!already) await putInlinePolicy(clients, p, RESTRICT_POLICY, RESTRICT_DOCUMENT);
      if (!(await restricted(clients, identityId))) throw notYet(`the deny policy on ${p.label} is not visible yet`);
      return { changed: !already, detail: { policy: RESTRICT_POLICY, ...(already ? { already: true } : {}) } };
    },
    async undo({ identityId, caseId }) {
      const p = principalOf(identityId);
      const kept = await capturedFor<RestrictCapture>(db, key(identityId, caseId));
      if (!kept) return { changed: false, detail: { policy: RESTRICT_POLICY, already: true } };
      await requireExists(clients, p);
      const changed = await restoreInlinePolicy(clients, p, RESTRICT_POLICY, kept.before);
      const now = await getInlinePolicy(clients, p, RESTRICT_POLICY);
      if ((now ? digestOf(now) : null) !== (kept.before ? digestOf(kept.before) : null))
        throw notYet(`the policy "${RESTRICT_POLICY}" on ${p.label} is not back to its state before the case yet`);
      await releaseCapture(db, key(identityId, caseId));
      return {
        changed,
        detail: {
          policy: RESTRICT_POLICY,
          restored: kept.before === null ? 'absent' : digestOf(kept.before),
          ...(changed ? {} : { already: true }),
        },
      };
    },
  };
};
