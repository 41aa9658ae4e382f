import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { Database } from '../../../src/db';
import { capture, capturedFor, releaseCapture } from '../captures';
import { aws, awsOptional, type AwsClients } from './client';
import { listAttachedPolicies, principalOf, type Principal } from './principal';

/**
 * AWS's managed policy for a compromised access key (the one AWS itself attaches when it finds a
 * leaked key): it denies what attackers do with one, such as creating keys or users, attaching
 * policies, launching instances and functions. Restrict attaches it on top of its own deny-all
 * when `CORDON_AWS_QUARANTINE_POLICY=true`, so the principal carries AWS's recognised marker and
 * stays fenced in even if someone deletes Cordon's inline policy.
 */
export const QUARANTINE_POLICY_ARN = 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3';

/** What restrict adds to its permissions with the option on (Attach and Detach can be scoped to the ARN). */
export const QUARANTINE_PERMISSIONS = [
  'iam:ListAttachedUserPolicies',
  'iam:ListAttachedRolePolicies',
  'iam:AttachUserPolicy',
  'iam:AttachRolePolicy',
  'iam:DetachUserPolicy',
  'iam:DetachRolePolicy',
];

/** What restrict keeps before it first attaches the quarantine policy in a case. */
interface QuarantineCapture {
  /** The policy was attached before the case (AWS or an earlier case did it): undo leaves it. */
  attachedBefore: boolean;
}

// Its own capture, taken the first time restrict runs with the option on in the case: an undo
// detaches what the case attached, whatever the option says by then.
const keyOf = (identityId: string, caseId: string) => ({
  provider: 'aws-iam',
  identityId,
  caseId,
  action: 'restrict-quarantine',
});

const isAttached = async (clients: AwsClients, p: Principal) =>
  (await listAttachedPolicies(clients, p)).includes(QUARANTINE_POLICY_ARN);

async function attach(clients: AwsClients, p: Principal): Promise<void> {
  const what = `attaching ${QUARANTINE_POLICY_ARN} to ${p.label}`;
  const PolicyArn = QUARANTINE_POLICY_ARN;
  if (p.kind === 'user')
    await aws(what, () => clients.iam.send(new AttachUserPolicyCommand({ UserName: p.name, PolicyArn })));
  else await aws(what, () => clients.iam.send(new AttachRolePolicyCommand({ RoleName: p.name, PolicyArn })));
}

/** Detaches the policy; false when it was not attached (IAM answers NoSuchEntity). */
async function detach(clients: AwsClients, p: Principal): Promise<boolean> {
  const what = `detaching ${QUARANTINE_POLICY_ARN} from ${p.label}`;
  const PolicyArn = QUARANTINE_POLICY_ARN;
  const done =
    p.kind === 'user'
      ? await awsOptional(what, () => clients.iam.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn })))
      : await awsOptional(what, () => clients.iam.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn })));
  return done !== undefined;
}

/**
 * The quarantine part of restrict's post-condition: true when the case never attached the policy
 * (the option was off when its restrict ran, or restrict has not run in it), else whether it is
 * attached now.
 */
export async function quarantineHolds(
  db: Database,
  clients: AwsClients,
  identityId: string,
  caseId: string,
): Promise<boolean> {
  if (!(await capturedFor<QuarantineCapture>(db, keyOf(identityId, caseId)))) return true;
  return isAttached(clients, principalOf(identityId));
}

/**
 * Attaches the quarantine policy when the option is on (or the case already captured for it, so a
 * retry finishes what an attempt began); captures first whether it was attached before. Answers
 * whether this call attached it, or undefined when the case does not quarantine.
 */
export async function quarantine(
  db: Database,
  clients: AwsClients,
  identityId: string,
  caseId: string,
): Promise<boolean | undefined> {
  const p = principalOf(identityId);
  const key = keyOf(identityId, caseId);
  const kept = clients.settings.quarantinePolicy
    ? await capture<QuarantineCapture>(db, key, async () => ({ attachedBefore: await isAttached(clients, p) }))
    : await capturedFor<QuarantineCapture>(db, key);
  if (!kept) return undefined;
  if (await isAttached(clients, p)) return false;
  await attach(clients, p);
  return true;
}

/**
 * Undoes `quarantine`: detaches the policy unless it was attached before the case. Answers what
 * happened, or undefined when the case never quarantined; `back` says whether the attachment is
 * as the case found it (IAM is eventually consistent: the caller retries until it is).
 */
export async function releaseQuarantine(
  db: Database,
  clients: AwsClients,
  identityId: string,
  caseId: string,
): Promise<{ changed: boolean; back: boolean; detail: string } | undefined> {
  const p = principalOf(identityId);
  const kept = await capturedFor<QuarantineCapture>(db, keyOf(identityId, caseId));
  if (!kept) return undefined;
  const changed = kept.attachedBefore ? false : await detach(clients, p);
  const back = (await isAttached(clients, p)) === kept.attachedBefore;
  if (back) await releaseCapture(db, keyOf(identityId, caseId));
  return { changed, back, detail: kept.attachedBefore ? 'kept (attached before the case)' : 'detached' };
}
