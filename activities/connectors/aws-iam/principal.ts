import { ApplicationFailure } from '@temporalio/activity';
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { digestOf } from '../../../src/digest';
import { aws, awsOptional, AwsIamFailure, type AwsClients } from './client';

/**
 * Who an identity id names: an IAM user by its name (`deploy-bot`), or a role as
 * `role/<name>` (`role/ci-runner`). Roles have no access keys: only restrict and isolate apply.
 */
export interface Principal {
  kind: 'user' | 'role';
  name: string;
  /** For messages: `user "x"` / `role "x"`. */
  label: string;
}

const IAM_NAME = /^[\w+=,.@-]{1,128}$/;

export function principalOf(identityId: string): Principal {
  const role = identityId.startsWith('role/');
  const name = role ? identityId.slice('role/'.length) : identityId;
  if (!IAM_NAME.test(name)) {
    throw ApplicationFailure.create({
      type: AwsIamFailure.Unsupported,
      message: `aws-iam: "${identityId}" is not an IAM user name or role/<role name>`,
      nonRetryable: true,
    });
  }
  return { kind: role ? 'role' : 'user', name, label: `${role ? 'role' : 'user'} "${name}"` };
}

/** Refuses key actions on roles (they have no access keys). */
export function requireUser(p: Principal, action: string): void {
  if (p.kind !== 'user') {
    throw ApplicationFailure.create({
      type: AwsIamFailure.Unsupported,
      message: `aws-iam: ${action} acts on access keys, and ${p.label} is a role without any`,
      nonRetryable: true,
    });
  }
}

/** An IAM policy document; inline documents come back URL-encoded from the IAM API. */
export type PolicyDocument = { Version: string; Statement: unknown[] };

export function parsePolicy(raw: string): PolicyDocument {
  try {
    return JSON.parse(raw);
  } catch {
    return JSON.parse(decodeURIComponent(raw));
  }
}

/** Throws a permanent NotFound when the user or role does not exist. */
export async function requireExists(
  clients: AwsClients,
  p: Principal,
): Promise<{ arn: string; id: string; trustPolicy?: PolicyDocument }> {
  if (p.kind === 'user') {
    const user = (await aws(`GetUser for ${p.label}`, () => clients.iam.send(new GetUserCommand({ UserName: p.name }))))
      .User!;
    return { arn: user.Arn!, id: user.UserId! };
  }
  const role = (await aws(`GetRole for ${p.label}`, () => clients.iam.send(new GetRoleCommand({ RoleName: p.name }))))
    .Role!;
  return {
    arn: role.Arn!,
    id: role.RoleId!,
    trustPolicy: role.AssumeRolePolicyDocument ? parsePolicy(role.AssumeRolePolicyDocument) : undefined,
  };
}

/** The role's trust policy (who may assume it), as GetRole returns it. */
export async function getTrustPolicy(clients: AwsClients, p: Principal): Promise<PolicyDocument> {
  const { trustPolicy } = await requireExists(clients, p);
  return trustPolicy ?? { Version: '2012-10-17', Statement: [] };
}

export async function putTrustPolicy(clients: AwsClients, p: Principal, doc: PolicyDocument): Promise<void> {
  await aws(`UpdateAssumeRolePolicy of ${p.label}`, () =>
    clients.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: p.name, PolicyDocument: JSON.stringify(doc) })),
  );
}

/** The inline policy `policyName` of the principal, or undefined when absent. */
export async function getInlinePolicy(
  clients: AwsClients,
  p: Principal,
  policyName: string,
): Promise<PolicyDocument | undefined> {
  const what = `reading inline policy "${policyName}" of ${p.label}`;
  const doc =
    p.kind === 'user'
      ? (
          await awsOptional(what, () =>
            clients.iam.send(new GetUserPolicyCommand({ UserName: p.name, PolicyName: policyName })),
          )
        )?.PolicyDocument
      : (
          await awsOptional(what, () =>
            clients.iam.send(new GetRolePolicyCommand({ RoleName: p.name, PolicyName: policyName })),
          )
        )?.PolicyDocument;
  return doc === undefined ? undefined : parsePolicy(doc);
}

export async function putInlinePolicy(
  clients: AwsClients,
  p: Principal,
  policyName: string,
  doc: PolicyDocument,
): Promise<void> {
  const what = `writing inline policy "${policyName}" on ${p.label}`;
  const PolicyDocument = JSON.stringify(doc);
  if (p.kind === 'user')
    await aws(what, () =>
      clients.iam.send(new PutUserPolicyCommand({ UserName: p.name, PolicyName: policyName, PolicyDocument })),
    );
  else
    await aws(what, () =>
      clients.iam.send(new PutRolePolicyCommand({ RoleName: p.name, PolicyName: policyName, PolicyDocument })),
    );
}

/** Deletes an inline policy; true when it existed. */
export async function deleteInlinePolicy(clients: AwsClients, p: Principal, policyName: string): Promise<boolean> {
  const what = `deleting inline policy "${policyName}" of ${p.label}`;
  const done =
    p.kind === 'user'
      ? await awsOptional(what, () =>
          clients.iam.send(new DeleteUserPolicyCommand({ UserName: p.name, PolicyName: policyName })),
        )
      : await awsOptional(what, () =>
          clients.iam.send(new DeleteRolePolicyCommand({ RoleName: p.name, PolicyName: policyName })),
        );
  return done !== undefined;
}

/** Sets an inline policy back to what a capture recorded: the document, or absent. */
export async function restoreInlinePolicy(
  clients: AwsClients,
  p: Principal,
  policyName: string,
  before: PolicyDocument | null,
): Promise<boolean> {
  const now = await getInlinePolicy(clients, p, policyName);
  if (before === null) return now === undefined ? false : deleteInlinePolicy(clients, p, policyName);
  if (now !== undefined && digestOf(now) === digestOf(before)) return false;
  await putInlinePolicy(clients, p, policyName, before);
  return true;
}

export interface AccessKeyState {
  id: string;
  status: string;
  created?: string;
}

/** The user's access keys, sorted by id (ids only: a secret access key is never readable). */
export async function listKeys(clients: AwsClients, p: Principal): Promise<AccessKeyState[]> {
  requireUser(p, 'listing access keys');
  const keys: AccessKeyState[] = [];
  let Marker: string | undefined;
  do {
    const page = await aws(`ListAccessKeys for ${p.label}`, () =>
      clients.iam.send(new ListAccessKeysCommand({ UserName: p.name, Marker })),
    );
    for (const k of page.AccessKeyMetadata ?? [])
      keys.push({ id: k.AccessKeyId!, status: k.Status!, created: k.CreateDate?.toISOString() });
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return keys.sort((a, b) => a.id.localeCompare(b.id));
}

async function paged<T>(fetchPage: (marker?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetchPage(marker);
    all.push(...page.items);
    marker = page.next;
  } while (marker);
  return all;
}

/** The ARNs of the managed policies attached to the principal, sorted. */
export async function listAttachedPolicies(clients: AwsClients, p: Principal): Promise<string[]> {
  const attached =
    p.kind === 'user'
      ? await paged(async (Marker) => {
          const r = await aws(`ListAttachedUserPolicies for ${p.label}`, () =>
            clients.iam.send(new ListAttachedUserPoliciesCommand({ UserName: p.name, Marker })),
          );
          return { items: r.AttachedPolicies ?? [], next: r.IsTruncated ? r.Marker : undefined };
        })
      : await paged(async (Marker) => {
          const r = await aws(`ListAttachedRolePolicies for ${p.label}`, () =>
            clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: p.name, Marker })),
          );
          return { items: r.AttachedPolicies ?? [], next: r.IsTruncated ? r.Marker : undefined };
        });
  return attached.map((a) => a.PolicyArn!).sort();
}

/**
 * Evidence of the principal's state: access keys (id, status, creation), inline policies (name
 * and document digest), attached managed policies, groups (users) and the trust policy digest
 * (roles, which isolate changes). No secret values. Last-used timestamps are left out on
 * purpose: they change whenever the key is used, and the workflow compares the snapshot taken
 * before containment with the one after a rollback to decide whether the identity was restored;
 * they are reported in action details instead.
 */
export async function readSnapshot(clients: AwsClients, p: Principal): Promise<Record<string, unknown>> {
  const { arn, id, trustPolicy } = await requireExists(clients, p);
  const iam = clients.iam;
  const names =
    p.kind === 'user'
      ? await paged(async (Marker) => {
          const r = await aws(`ListUserPolicies for ${p.label}`, () =>
            iam.send(new ListUserPoliciesCommand({ UserName: p.name, Marker })),
          );
          return { items: r.PolicyNames ?? [], next: r.IsTruncated ? r.Marker : undefined };
        })
      : await paged(async (Marker) => {
          const r = await aws(`ListRolePolicies for ${p.label}`, () =>
            iam.send(new ListRolePoliciesCommand({ RoleName: p.name, Marker })),
          );
          return { items: r.PolicyNames ?? [], next: r.IsTruncated ? r.Marker : undefined };
        });
  const inlinePolicies = [];
  for (const name of [...names].sort()) {
    const doc = await getInlinePolicy(clients, p, name);
    inlinePolicies.push({ name, digest: doc === undefined ? null : digestOf(doc) });
  }
  const attachedPolicies = await listAttachedPolicies(clients, p);
  if (p.kind === 'role') {
    // The trust policy decides who can open new sessions; isolate changes it, so its digest is evidence.
    return {
      kind: 'role',
      name: p.name,
      arn,
      id,
      trustPolicy: trustPolicy ? digestOf(trustPolicy) : null,
      inlinePolicies,
      attachedPolicies,
    };
  }
  const groups = (
    await paged(async (Marker) => {
      const r = await aws(`ListGroupsForUser for ${p.label}`, () =>
        iam.send(new ListGroupsForUserCommand({ UserName: p.name, Marker })),
      );
      return { items: r.Groups ?? [], next: r.IsTruncated ? r.Marker : undefined };
    })
  )
    .map((g) => g.GroupName!)
    .sort();
  return {
    kind: 'user',
    name: p.name,
    arn,
    id,
    accessKeys: await listKeys(clients, p),
    inlinePolicies,
    attachedPolicies,
    groups,
  };
}

/** What `snapshot` and `verify` read (every action's permissions add to these). */
export const READ_PERMISSIONS = [
  'iam:GetUser',
  'iam:GetRole',
  'iam:ListAccessKeys',
  'iam:ListUserPolicies',
  'iam:ListRolePolicies',
  'iam:GetUserPolicy',
  'iam:GetRolePolicy',
  'iam:ListAttachedUserPolicies',
  'iam:ListAttachedRolePolicies',
  'iam:ListGroupsForUser',
  'secretsmanager:GetSecretValue',
];
