import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { Database } from '../../../src/db';
import { digestOf } from '../../../src/digest';
import { capture, capturedFor, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { awsOptional, notYet, type AwsClients } from './client';
import {
  getInlinePolicy,
  getTrustPolicy,
  listKeys,
  principalOf,
  putInlinePolicy,
  putTrustPolicy,
  requireExists,
  restoreInlinePolicy,
  type PolicyDocument,
  type Principal,
} from './principal';

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

/**
 * The statement isolate adds to a role's trust policy so that nobody can open a new session.
 *
 * Why the trust policy and not the role's inline policy: an identity policy does not govern
 * sts:AssumeRole (the trust policy and the caller's own policies do), so the TokenIssueTime deny
 * only cuts sessions issued before isolation and an attacker who can assume the role would get a
 * fresh, working session. An unconditioned deny on the role's inline policy would make every
 * session useless, but that is exactly restrict ("cordon-restrict" denies * on *): isolate would
 * add nothing. Denying AssumeRole in the trust policy is the role's counterpart of deactivating
 * a user's access keys: no new credentials, existing ones cut by the session policy, and the role
 * keeps its permissions for when the undo lets sessions in again.
 */
export const TRUST_DENY_SID = 'CordonIsolateDenyNewSessions';
export const TRUST_DENY = {
  Sid: TRUST_DENY_SID,
  Effect: 'Deny',
  Principal: '*',
  Action: ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity'],
};

const statementsOf = (doc: PolicyDocument) =>
  (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as { Sid?: string }[];
const hasTrustDeny = (doc: PolicyDocument) =>
  statementsOf(doc).some((s) => s?.Sid === TRUST_DENY_SID && digestOf(s) === digestOf(TRUST_DENY));
const withoutTrustDeny = (doc: PolicyDocument): PolicyDocument => ({
  ...doc,
  Statement: statementsOf(doc).filter((s) => s?.Sid !== TRUST_DENY_SID),
});

/** What isolate keeps before its first attempt in a case; the case's undo restores exactly this. */
export interface IsolateCapture {
  /** Users: the access keys that were Active; only these are reactivated by undo. */
  activeKeys: string[];
  /** The session policy of that name before isolation (normally none; an earlier case's otherwise). */
  sessionPolicyBefore: PolicyDocument | null;
  /** Roles: whether the trust policy already denied new sessions (an earlier case left it); undo then keeps it. */
  trustDenyBefore?: boolean;
}

/** The cut-off for sessions: fixed once new credentials are blocked, so retries write the same policy. */
interface CutoffCapture {
  issuedBefore: string;
}

const keyOf = (identityId: string, caseId: string) => ({ provider: 'aws-iam', identityId, caseId, action: 'isolate' });
const cutoffKeyOf = (identityId: string, caseId: string) => ({
  provider: 'aws-iam',
  identityId,
  caseId,
  action: 'isolate-cutoff',
});

async function setStatus(
  clients: AwsClients,
  p: Principal,
  keyId: string,
  Status: 'Active' | 'Inactive',
): Promise<void> {
  // A key deleted meanwhile (revoke) needs no status change.
  await awsOptional(`UpdateAccessKey ${keyId} to ${Status} for ${p.label}`, () =>
    clients.iam.send(new UpdateAccessKeyCommand({ UserName: p.name, AccessKeyId: keyId, Status })),
  );
}

/**
 * True when this case's session policy is in place and no new credentials can be had: for a user,
 * no access key isolation covers is Active; for a role, its trust policy denies every AssumeRole.
 * Without a capture in this case (isolation never ran in it) any session policy counts, and every
 * key must be inactive.
 */
export async function isolated(
  db: Database,
  clients: AwsClients,
  identityId: string,
  caseId: string,
): Promise<boolean> {
  const p = principalOf(identityId);
  const kept = await capturedFor<IsolateCapture>(db, keyOf(identityId, caseId));
  const cutoff = await capturedFor<CutoffCapture>(db, cutoffKeyOf(identityId, caseId));
  const doc = await getInlinePolicy(clients, p, SESSION_POLICY);
  if (!doc || (cutoff && digestOf(doc) !== digestOf(sessionDocument(cutoff.issuedBefore)))) return false;
  if (p.kind === 'role') return hasTrustDeny(await getTrustPolicy(clients, p));
  const covered = (id: string) => !kept || kept.activeKeys.includes(id);
  return (await listKeys(clients, p)).every((k) => k.status !== 'Active' || !covered(k.id));
}

/**
 * Isolate: first stop new credentials (a user's Active access keys set Inactive; a role's trust
 * policy denies AssumeRole), then deny every session issued before that point (inline policy with
 * an aws:TokenIssueTime condition, for role sessions and GetSessionToken credentials). The cut-off
 * is taken after new credentials are blocked, so no session slips in between. Undo reactivates
 * exactly the keys that were Active, takes the trust deny out again unless the case found it
 * there, and puts the session policy back to what the case found.
 */
export const isolateAction = (db: Database, clients: AwsClients): ConnectorAction => ({
  name: 'isolate',
  description: `Deactivate the user's access keys (roles: deny AssumeRole in the trust policy) and deny sessions issued before now (inline policy "${SESSION_POLICY}")`,
  permissions: [
    'iam:GetUser',
    'iam:GetRole',
    'iam:ListAccessKeys',
    'iam:UpdateAccessKey',
    'iam:UpdateAssumeRolePolicy',
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
    const kept = await capture<IsolateCapture>(db, keyOf(identityId, caseId), async () => ({
      activeKeys:
        p.kind === 'user' ? (await listKeys(clients, p)).filter((k) => k.status === 'Active').map((k) => k.id) : [],
      sessionPolicyBefore: (await getInlinePolicy(clients, p, SESSION_POLICY)) ?? null,
      ...(p.kind === 'role' ? { trustDenyBefore: hasTrustDeny(await getTrustPolicy(clients, p)) } : {}),
    }));

    // 1. No new credentials.
    const deactivated: string[] = [];
    let trustChanged = false;
    if (p.kind === 'user') {
      for (const k of await listKeys(clients, p)) {
        if (k.status === 'Active' && kept.activeKeys.includes(k.id)) {
          await setStatus(clients, p, k.id, 'Inactive');
          deactivated.push(k.id);
        }
      }
    } else {
      const trust = await getTrustPolicy(clients, p);
      if (!hasTrustDeny(trust)) {
        const base = withoutTrustDeny(trust);
        await putTrustPolicy(clients, p, { ...base, Statement: [...statementsOf(base), TRUST_DENY] });
        trustChanged = true;
      }
    }

    // 2. Cut every session issued until now.
    const { issuedBefore } = await capture<CutoffCapture>(db, cutoffKeyOf(identityId, caseId), async () => ({
      issuedBefore: new Date().toISOString(),
    }));
    const wanted = sessionDocument(issuedBefore);
    const doc = await getInlinePolicy(clients, p, SESSION_POLICY);
    const sessionChanged = !doc || digestOf(doc) !== digestOf(wanted);
    if (sessionChanged) await putInlinePolicy(clients, p, SESSION_POLICY, wanted);

    if (!(await isolated(db, clients, identityId, caseId))) throw notYet(`isolation of ${p.label} is not visible yet`);
    const changed = sessionChanged || trustChanged || deactivated.length > 0;
    const credentials =
      p.kind === 'user'
        ? { keys: kept.activeKeys, deactivated }
        : { newSessions: 'denied in the trust policy', trustPolicyChanged: trustChanged };
    return {
      changed,
      detail: {
        ...credentials,
        sessionsIssuedBefore: issuedBefore,
        sessionPolicy: SESSION_POLICY,
        ...(changed ? {} : { already: true }),
      },
    };
  },
  async undo({ identityId, caseId }) {
    const p = principalOf(identityId);
    const kept = await capturedFor<IsolateCapture>(db, keyOf(identityId, caseId));
    if (!kept) return { changed: false, detail: { already: true } };
    await requireExists(clients, p);
    const reactivated: string[] = [];
    let trustChanged = false;
    if (p.kind === 'user') {
      for (const k of await listKeys(clients, p)) {
        if (k.status !== 'Active' && kept.activeKeys.includes(k.id)) {
          await setStatus(clients, p, k.id, 'Active');
          reactivated.push(k.id);
        }
      }
    } else if (!kept.trustDenyBefore) {
      // Only Cordon's statement comes out: whatever else changed in the trust policy stays.
      const trust = await getTrustPolicy(clients, p);
      if (statementsOf(trust).some((s) => s?.Sid === TRUST_DENY_SID)) {
        await putTrustPolicy(clients, p, withoutTrustDeny(trust));
        trustChanged = true;
      }
    }
    const policyChanged = await restoreInlinePolicy(clients, p, SESSION_POLICY, kept.sessionPolicyBefore);
    const sessionNow = await getInlinePolicy(clients, p, SESSION_POLICY);
    const credentialsBack =
      p.kind === 'role'
        ? hasTrustDeny(await getTrustPolicy(clients, p)) === !!kept.trustDenyBefore
        : (await listKeys(clients, p)).every((k) => k.status === 'Active' || !kept.activeKeys.includes(k.id));
    if (
      !credentialsBack ||
      (sessionNow ? digestOf(sessionNow) : null) !==
        (kept.sessionPolicyBefore ? digestOf(kept.sessionPolicyBefore) : null)
    ) {
      throw notYet(`${p.label} is not back to its state before isolation yet`);
    }
    await releaseCapture(db, cutoffKeyOf(identityId, caseId));
    await releaseCapture(db, keyOf(identityId, caseId));
    const changed = policyChanged || trustChanged || reactivated.length > 0;
    return {
      changed,
      detail: {
        ...(p.kind === 'user'
          ? { reactivated }
          : { newSessions: kept.trustDenyBefore ? 'still denied (found so)' : 'allowed again' }),
        sessionPolicy: kept.sessionPolicyBefore === null ? 'removed' : 'restored',
        ...(changed ? {} : { already: true }),
      },
    };
  },
});
