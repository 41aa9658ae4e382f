import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { Database } from '../../../src/db';
import { digestOf } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { awsOptional, notYet, type AwsClients } from './client';
import { getInlinePolicy, listKeys, principalOf, putInlinePolicy, requireExists, restoreInlinePolicy, type PolicyDocument, type Principal } from './principal';

/** The inline policy that cuts sessions issued before isolation (the AWSRevokeOlderSessions pattern). */
export const SESSION_POLICY = 'cordon-revoke-older-sessions';

export function sessionDocument(issuedBefore: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'CordonRevokeOlderSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        // Applies to temporary credentials only (role sessions, GetSessionToken); long-term keys
        // carry no aws:TokenIssueTime, so for them this statement never matches in AWS.
        Condition: { DateLessThan: { 'aws:TokenIssueTime': issuedBefore } },
      },
    ],
  };
}

/** What isolate keeps before its first attempt; undo restores exactly this. */
export interface IsolateCapture {
  /** The access keys that were Active: only these are reactivated by undo. */
  activeKeys: string[];
  /** The session policy of that name before isolation (normally none). */
  sessionPolicyBefore: PolicyDocument | null;
  /** The cut-off for sessions, fixed at the first attempt so retries write the same policy. */
  issuedBefore: string;
}

const key = (identityId: string) => ({ provider: 'aws-iam', identityId, action: 'isolate' });

async function setStatus(clients: AwsClients, p: Principal, keyId: string, Status: 'Active' | 'Inactive'): Promise<void> {
  // A key deleted meanwhile (revoke) needs no status change.
  await awsOptional(`UpdateAccessKey ${keyId} to ${Status} for ${p.label}`, () =>
    clients.iam.send(new UpdateAccessKeyCommand({ UserName: p.name, AccessKeyId: keyId, Status })),
  );
}

/** True when the sessions policy is in place and no access key isolation covers is Active. */
export async function isolated(db: Database, clients: AwsClients, identityId: string): Promise<boolean> {
  const p = principalOf(identityId);
  const kept = await capturedFor<IsolateCapture>(db, key(identityId));
  const doc = await getInlinePolicy(clients, p, SESSION_POLICY);
  if (!doc || (kept && digestOf(doc) !== digestOf(sessionDocument(kept.issuedBefore)))) return false;
  if (p.kind === 'role') return true;
  // Without a capture (isolation never ran through Cordon) every key must be inactive.
  const covered = (id: string) => !kept || kept.activeKeys.includes(id);
  return (await listKeys(clients, p)).every((k) => k.status !== 'Active' || !covered(k.id));
}

/**
 * Isolate: set the user's Active access keys Inactive (UpdateAccessKey) and deny every session
 * issued before now (inline policy with an aws:TokenIssueTime condition, for role sessions and
 * GetSessionToken credentials). Undo reactivates exactly the keys that were Active and puts the
 * session policy back to its previous state.
 */
export const isolateAction = (db: Database, clients: AwsClients): ConnectorAction => ({
  name: 'isolate',
  description: `Deactivate the user's access keys and deny sessions issued before now (inline policy "${SESSION_POLICY}")`,
  permissions: ['iam:GetUser', 'iam:GetRole', 'iam:ListAccessKeys', 'iam:UpdateAccessKey', 'iam:GetUserPolicy', 'iam:GetRolePolicy', 'iam:PutUserPolicy', 'iam:PutRolePolicy', 'iam:DeleteUserPolicy', 'iam:DeleteRolePolicy'],
  reversible: true,
  async run({ identityId }) {
    const p = principalOf(identityId);
    await requireExists(clients, p);
    const kept = await capture<IsolateCapture>(db, key(identityId), async () => ({
      activeKeys: p.kind === 'user' ? (await listKeys(clients, p)).filter((k) => k.status === 'Active').map((k) => k.id) : [],
      sessionPolicyBefore: (await getInlinePolicy(clients, p, SESSION_POLICY)) ?? null,
      issuedBefore: new Date().toISOString(),
    }));
    let changed = false;
    const wanted = sessionDocument(kept.issuedBefore);
    const doc = await getInlinePolicy(clients, p, SESSION_POLICY);
    if (!doc || digestOf(doc) !== digestOf(wanted)) {
      await putInlinePolicy(clients, p, SESSION_POLICY, wanted);
      changed = true;
    }
    const deactivated: string[] = [];
    if (p.kind === 'user') {
      for (const k of await listKeys(clients, p)) {
        if (k.status === 'Active' && kept.activeKeys.includes(k.id)) {
          await setStatus(clients, p, k.id, 'Inactive');
          deactivated.push(k.id);
        }
      }
    }
    changed ||= deactivated.length > 0;
    if (!(await isolated(db, clients, identityId))) throw notYet(`isolation of ${p.label} is not visible yet`);
    return {
      changed,
      detail: { keys: kept.activeKeys, deactivated, sessionsIssuedBefore: kept.issuedBefore, sessionPolicy: SESSION_POLICY, ...(changed ? {} : { already: true }) },
    };
  },
  async undo({ identityId }) {
    const p = principalOf(identityId);
    const kept = await capturedFor<IsolateCapture>(db, key(identityId));
    if (!kept) return { changed: false, detail: { already: true } };
    await requireExists(clients, p);
    const reactivated: string[] = [];
    if (p.kind === 'user') {
      for (const k of await listKeys(clients, p)) {
        if (k.status !== 'Active' && kept.activeKeys.includes(k.id)) {
          await setStatus(clients, p, k.id, 'Active');
          reactivated.push(k.id);
        }
      }
    }
    const policyChanged = await restoreInlinePolicy(clients, p, SESSION_POLICY, kept.sessionPolicyBefore);
    if (await isolated(db, clients, identityId)) throw notYet(`${p.label} still looks isolated after the undo`);
    await releaseCapture(db, key(identityId));
    const changed = policyChanged || reactivated.length > 0;
    return { changed, detail: { reactivated, sessionPolicy: kept.sessionPolicyBefore === null ? 'removed' : 'restored', ...(changed ? {} : { already: true }) } };
  },
});
