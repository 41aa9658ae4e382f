// The aws-iam connector against a real moto server with IAM authentication switched on: every
// call (Cordon's and the test's) is signed with an access key that must exist in moto's IAM, and
// moto evaluates the caller's identity policies. What moto enforces, checked in
// moto/iam/access_control.py (moto 5.2) and by these tests:
//  - a deleted access key is refused everywhere (InvalidClientTokenId), GetCallerIdentity included;
//  - an explicit Deny in an inline policy is enforced (AccessDenied), except on sts:GetCallerIdentity;
//  - access key status is NOT enforced: an Inactive key still works, so isolation is asserted
//    through ListAccessKeys (the state AWS enforces);
//  - Resource and Condition elements are not evaluated for identity policies: a statement whose
//    condition moto cannot evaluate counts as a denial, so the aws:TokenIssueTime session policy
//    denies even long-term keys on moto (in AWS it matches only temporary credentials). Tests
//    assert that policy through GetUserPolicy, never through its (wrong) effect on moto.
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsIamConnector } from '../activities/connectors/aws-iam';
import { RESTRICT_POLICY } from '../activities/connectors/aws-iam/restrict';
import { SESSION_POLICY } from '../activities/connectors/aws-iam/isolate';
import { parsePolicy, READ_PERMISSIONS } from '../activities/connectors/aws-iam/principal';
import { capture } from '../activities/connectors/captures';
import type { Connector, ConnectorSettings } from '../activities/connectors/types';
import { fingerprint } from '../src/digest';
import { auditQuery, decideUpdate, falsePositiveSignal } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { freePort } from './support/processes';
import { startMoto, type TestServer } from './support/servers';

type AwsSettings = NonNullable<ConnectorSettings['aws']>;
interface Key {
  id: string;
  secret: string;
}

const REGION = 'us-east-1';
const PREFIX = 'cordon/rotated/';
let moto: TestServer;
let admin: IAMClient;
let settings: AwsSettings;
let counter = 0;

const creds = (k: Key) => ({ accessKeyId: k.id, secretAccessKey: k.secret });
const iamAs = (k: Key) => new IAMClient({ region: REGION, endpoint: moto.url, credentials: creds(k) });
const policy = (Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement });

/** Every permission the connector declares: Cordon's own moto user gets exactly these. */
function declaredPermissions(): string[] {
  const metadata = createAwsIamConnector({ db: undefined as never, settings: { aws: { region: REGION, rotationSecretPrefix: PREFIX } } })!;
  return [...new Set([...READ_PERMISSIONS, ...Object.values(metadata.actions).flatMap((a) => a!.permissions)])].sort();
}

beforeAll(async () => {
  // moto counts requests: the first 3 are unauthenticated (to create the bootstrap admin), every
  // later one must be signed with a key moto's IAM knows and is checked against its policies.
  process.env.INITIAL_NO_AUTH_ACTION_COUNT = '3';
  try {
    moto = await startMoto();
  } finally {
    delete process.env.INITIAL_NO_AUTH_ACTION_COUNT;
  }
  const boot = new IAMClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await boot.send(new CreateUserCommand({ UserName: 'test-admin' }));
  await boot.send(new PutUserPolicyCommand({ UserName: 'test-admin', PolicyName: 'all', PolicyDocument: policy([{ Effect: 'Allow', Action: '*', Resource: '*' }]) }));
  const made = (await boot.send(new CreateAccessKeyCommand({ UserName: 'test-admin' }))).AccessKey!;
  admin = iamAs({ id: made.AccessKeyId!, secret: made.SecretAccessKey! });

  // Cordon's identity: only the permissions its actions declare. Resource '*' because moto
  // matches Resource patterns against '*' only (the README's policy scopes them).
  await admin.send(new CreateUserCommand({ UserName: 'cordon' }));
  await admin.send(new PutUserPolicyCommand({ UserName: 'cordon', PolicyName: 'cordon', PolicyDocument: policy([{ Effect: 'Allow', Action: declaredPermissions(), Resource: '*' }]) }));
  const cordonKey = (await admin.send(new CreateAccessKeyCommand({ UserName: 'cordon' }))).AccessKey!;
  settings = { region: REGION, endpoint: moto.url, rotationSecretPrefix: PREFIX, credentials: { accessKeyId: cordonKey.AccessKeyId!, secretAccessKey: cordonKey.SecretAccessKey! } };
});
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => moto?.stop());

const h = useHarness({ connectors: () => ({ aws: settings }) });

let made: Connector | undefined;
const aws = () => (made ??= createAwsIamConnector({ db: h.db, settings: { aws: settings } })!);
const act = (name: 'restrict' | 'isolate' | 'revoke' | 'rotate', identityId: string, idempotencyKey = `test-${name}-${++counter}`) =>
  aws().actions[name]!.run({ identityId, idempotencyKey });
const undo = (name: 'restrict' | 'isolate', identityId: string) => aws().actions[name]!.undo!({ identityId, idempotencyKey: `undo-${++counter}` });

/** A user that can call iam:GetUser on itself, with `keys` access keys (the first Active). */
async function newUser(keys = 1): Promise<{ name: string; keys: Key[] }> {
  const name = `app-${++counter}`;
  await admin.send(new CreateUserCommand({ UserName: name }));
  await admin.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'app', PolicyDocument: policy([{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }]) }));
  const made: Key[] = [];
  for (let i = 0; i < keys; i++) {
    const k = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    made.push({ id: k.AccessKeyId!, secret: k.SecretAccessKey! });
  }
  return { name, keys: made };
}

/** What a call signed with the key gets: 'ok' or the AWS error name. moto enforces deny policies and key existence. */
const works = (k: Key) => iamAs(k).send(new GetUserCommand({})).then(() => 'ok', (e: Error) => e.name);
const callerArn = (k: Key) =>
  new STSClient({ region: REGION, endpoint: moto.url, credentials: creds(k) }).send(new GetCallerIdentityCommand({})).then((r) => r.Arn, (e: Error) => e.name);
const keyStates = async (user: string) =>
  Object.fromEntries(((await admin.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId, k.Status]));
const inlinePolicy = (user: string, name: string) =>
  admin.send(new GetUserPolicyCommand({ UserName: user, PolicyName: name })).then((r) => parsePolicy(r.PolicyDocument!), (e: Error) => e.name);

/** The failure a call raised, for asserting its type, retryability and message. */
async function failureOf(call: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('aws-iam connector on moto', () => {
  it('declares least privileges, and they are enough: Cordon itself runs with only those', () => {
    for (const action of Object.values(aws().actions)) {
      expect(action!.permissions.length).toBeGreaterThan(0);
      expect(action!.reversible).toBe(typeof action!.undo === 'function');
    }
    expect(aws().actions.revoke!.reversible).toBe(false);
    expect(aws().actions.rotate!.reversible).toBe(false);
    expect(declaredPermissions()).not.toContain('iam:*');
  });

  it('restrict: deny policy enforced, repeat is a no-op, verify follows, undo restores the snapshot exactly', async () => {
    const { name, keys } = await newUser();
    const before = await aws().snapshot(name);
    expect(JSON.stringify(before)).not.toContain(keys[0].secret);
    expect(await works(keys[0])).toBe('ok');
    expect(await aws().verify(name, 'restrict')).toBe(false);

    expect(await act('restrict', name)).toMatchObject({ changed: true });
    expect(await inlinePolicy(name, RESTRICT_POLICY)).toMatchObject({ Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] });
    expect(await works(keys[0])).toBe('AccessDenied'); // moto enforces explicit denies
    expect(await aws().verify(name, 'restrict')).toBe(true);
    expect(await act('restrict', name)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('restrict', name)).toMatchObject({ changed: true });
    expect(await aws().verify(name, 'restrict')).toBe(false);
    expect(await undo('restrict', name)).toMatchObject({ changed: false, detail: { already: true } });
    expect(await aws().snapshot(name)).toEqual(before);
    expect(await works(keys[0])).toBe('ok');
  });

  it('restrict undo puts back a pre-existing policy of the same name instead of deleting it', async () => {
    const { name } = await newUser();
    const own = policy([{ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }]);
    await admin.send(new PutUserPolicyCommand({ UserName: name, PolicyName: RESTRICT_POLICY, PolicyDocument: own }));
    const before = await aws().snapshot(name);
    await act('restrict', name);
    expect(await aws().snapshot(name)).not.toEqual(before);
    await undo('restrict', name);
    expect(await aws().snapshot(name)).toEqual(before);
    expect(await inlinePolicy(name, RESTRICT_POLICY)).toEqual(JSON.parse(own));
  });

  it('isolate: deactivates exactly the Active keys, cuts older sessions; undo reactivates only those', async () => {
    const { name, keys } = await newUser(2);
    await admin.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: keys[1].id, Status: 'Inactive' }));
    const before = await aws().snapshot(name);
    expect(await aws().verify(name, 'isolate')).toBe(false);

    const result = await act('isolate', name);
    expect(result).toMatchObject({ changed: true, detail: { keys: [keys[0].id], deactivated: [keys[0].id] } });
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [keys[1].id]: 'Inactive' });
    const session = (await inlinePolicy(name, SESSION_POLICY)) as { Statement: { Effect: string; Condition: Record<string, Record<string, string>> }[] };
    expect(session.Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { DateLessThan: { 'aws:TokenIssueTime': result.detail.sessionsIssuedBefore } } });
    expect(await aws().verify(name, 'isolate')).toBe(true);
    expect(await act('isolate', name)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('isolate', name)).toMatchObject({ changed: true, detail: { reactivated: [keys[0].id] } });
    // The key that was Inactive before isolation stays Inactive: undo restores, it does not enable.
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Active', [keys[1].id]: 'Inactive' });
    expect(await aws().verify(name, 'isolate')).toBe(false);
    expect(await undo('isolate', name)).toMatchObject({ changed: false, detail: { already: true } });
    expect(await aws().snapshot(name)).toEqual(before);
    expect(await works(keys[0])).toBe('ok');
  });

  it('restrict and isolate work on a role (role/<name>); undo restores it', async () => {
    const role = `runner-${++counter}`;
    await admin.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: policy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]) }));
    await admin.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'work', PolicyDocument: policy([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }]) }));
    const id = `role/${role}`;
    const before = await aws().snapshot(id);
    expect(before).toMatchObject({ kind: 'role', name: role, inlinePolicies: [{ name: 'work' }] });
    for (const action of ['restrict', 'isolate'] as const) {
      expect(await act(action, id)).toMatchObject({ changed: true });
      expect(await aws().verify(id, action)).toBe(true);
      expect(await act(action, id)).toMatchObject({ changed: false });
    }
    expect((await aws().snapshot(id)).inlinePolicies).toHaveLength(3);
    for (const action of ['isolate', 'restrict'] as const) {
      expect(await undo(action, id)).toMatchObject({ changed: true });
      expect(await aws().verify(id, action)).toBe(false);
    }
    expect(await aws().snapshot(id)).toEqual(before);
    const refused = await failureOf(() => act('revoke', id));
    expect(refused).toMatchObject({ type: 'AwsIamUnsupported', nonRetryable: true });
    expect(refused.message).toMatch(/is a role without any/);
  });

  it('revoke: deletes the keys present at its first attempt; they stop working; a repeat is done', async () => {
    const { name, keys } = await newUser(2);
    await admin.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: keys[1].id, Status: 'Inactive' }));
    expect(await callerArn(keys[0])).toMatch(new RegExp(`:user/${name}$`));
    expect(await aws().verify(name, 'revoke')).toBe(false);

    const result = await act('revoke', name);
    expect(result.changed).toBe(true);
    expect((result.detail.deleted as { id: string }[]).map((d) => d.id).sort()).toEqual(keys.map((k) => k.id).sort());
    expect(await keyStates(name)).toEqual({});
    // moto checks key existence on every signed call: the revoked key is refused, even by STS.
    expect(await works(keys[0])).toBe('InvalidClientTokenId');
    expect(await callerArn(keys[0])).toBe('InvalidClientTokenId');
    expect(await aws().verify(name, 'revoke')).toBe(true);
    expect(await act('revoke', name, 'same-request')).toMatchObject({ changed: false, detail: { already: true } });

    // A key issued after the revoke is not one of the compromised keys: a later revoke keeps it.
    const fresh = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    expect(await act('revoke', name)).toMatchObject({ changed: false });
    expect(await keyStates(name)).toEqual({ [fresh.AccessKeyId!]: 'Active' });
    expect(await aws().verify(name, 'revoke')).toBe(true);
  });

  it('rotate: stores the new key in Secrets Manager, returns only its id and fingerprint, deactivates the old', async () => {
    const { name, keys } = await newUser();
    expect(await aws().verify(name, 'rotate')).toBe(false);
    const result = await act('rotate', name, 'rotation-1');
    expect(result.changed).toBe(true);
    const newKeyId = result.detail.newKeyId as string;

    const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: settings.credentials });
    const stored = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${name}` }))).SecretString!);
    expect(stored).toMatchObject({ UserName: name, AccessKeyId: newKeyId });
    expect(result.detail.secretFingerprint).toBe(fingerprint(stored.SecretAccessKey));
    expect(JSON.stringify(result)).not.toContain(stored.SecretAccessKey);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [newKeyId]: 'Active' });
    expect(await works({ id: newKeyId, secret: stored.SecretAccessKey })).toBe('ok');
    expect(await aws().verify(name, 'rotate')).toBe(true);

    // The same request again (a Temporal retry) issues nothing new.
    expect(await act('rotate', name, 'rotation-1')).toEqual({
      changed: false,
      detail: { newKeyId, secretFingerprint: result.detail.secretFingerprint, secretId: `${PREFIX}${name}`, deactivated: [], already: true },
    });
    expect(Object.keys(await keyStates(name))).toHaveLength(2);
  });

  it('rotate after a crash between CreateAccessKey and the store replaces the unstored key', async () => {
    const { name, keys } = await newUser();
    // The first attempt captured the old keys, created a key and died before storing it.
    await capture(h.db, { provider: 'aws-iam', identityId: name, action: 'rotate:crashed' }, async () => ({ oldKeys: [keys[0].id] }));
    const lost = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!.AccessKeyId!;

    const result = await act('rotate', name, 'crashed');
    expect(result.detail.newKeyId).not.toBe(lost);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [result.detail.newKeyId as string]: 'Active' });
  });

  it('rotate refuses a user already at the 2-key maximum, permanently and clearly', async () => {
    const { name } = await newUser(2);
    const failure = await failureOf(() => act('rotate', name));
    expect(failure).toMatchObject({ type: 'AwsIamRejected', nonRetryable: true });
    expect(failure.message).toMatch(/already has 2 access keys/);
  });

  it('maps provider errors: unknown user and access denied are permanent, a server that is down is retryable', async () => {
    for (const call of [() => aws().snapshot('nobody-here'), () => act('restrict', 'nobody-here'), () => act('isolate', 'nobody-here'), () => act('revoke', 'nobody-here'), () => act('rotate', 'nobody-here')]) {
      const failure = await failureOf(call);
      expect(failure).toMatchObject({ type: 'AwsIamNotFound', nonRetryable: true });
      expect(failure.message).toMatch(/user "nobody-here".*NoSuchEntity/);
    }
    expect(await failureOf(() => act('restrict', 'bad name!'))).toMatchObject({ type: 'AwsIamUnsupported', nonRetryable: true });

    // A Cordon key without the needed permissions (the app user may only call iam:GetUser).
    const { name, keys } = await newUser();
    const weak = createAwsIamConnector({ db: h.db, settings: { aws: { ...settings, credentials: creds(keys[0]) } } })!;
    const denied = await failureOf(() => weak.actions.restrict!.run({ identityId: name, idempotencyKey: 'weak' }));
    expect(denied).toMatchObject({ type: 'AwsIamRejected', nonRetryable: true });
    expect(denied.message).toMatch(/AccessDenied/);
    expect(denied.message).not.toContain(keys[0].secret);

    const closed = await freePort();
    const down = createAwsIamConnector({ db: h.db, settings: { aws: { ...settings, endpoint: `http://127.0.0.1:${closed}` } } })!;
    const transient = await failureOf(() => down.snapshot(name));
    expect(transient).toMatchObject({ type: 'AwsIamTransient', nonRetryable: false });
    expect(transient.message).toMatch(/AWS unreachable.*ECONNREFUSED/);
    expect(transient.message).not.toContain(settings.credentials!.secretAccessKey);
  });

  it('gated containment with an approved isolate, then a false positive: everything undone, the key works again', async () => {
    const { name, keys } = await newUser();
    const initial = await aws().snapshot(name);
    h.inventory.add('gated', { provider: 'aws-iam', id: name });
    await h.send(makeAlert({ identity: { provider: 'aws-iam', id: name } }));
    const handle = h.env.client.workflow.getHandle(`contain:aws-iam:${name}`);

    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await works(keys[0])).toBe('AccessDenied'); // restricted: moto enforces the deny
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'leaked in CI logs' }] });
    const status = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(status.applied.map((a) => [a.action, a.changed, a.verified])).toEqual([['restrict', true, true], ['isolate', true, true]]);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive' });
    expect(await aws().verify(name, 'isolate')).toBe(true);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'a sanctioned deploy job' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(await aws().snapshot(name)).toEqual(initial);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Active' });
    expect(await aws().verify(name, 'restrict')).toBe(false);
    expect(await aws().verify(name, 'isolate')).toBe(false);
    // The identity works again: a call signed with its own key succeeds where denies are enforced.
    expect(await works(keys[0])).toBe('ok');
    const restored = (await handle.query(auditQuery)).find((e) => e.event === 'identity.restored');
    expect(restored).toMatchObject({ actor: 'alice', result: { restored: true } });
  });

  it('automatic containment revokes the leaked key and rotates into Secrets Manager, never into history', async () => {
    const { name, keys } = await newUser();
    h.inventory.add('auto', { provider: 'aws-iam', id: name });
    await h.send(makeAlert({ identity: { provider: 'aws-iam', id: name } }));
    const handle = h.env.client.workflow.getHandle(`contain:aws-iam:${name}`);
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([['restrict', true], ['revoke', true], ['rotate', true]]);

    expect(await callerArn(keys[0])).toBe('InvalidClientTokenId');
    const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: settings.credentials });
    const stored = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${name}` }))).SecretString!);
    expect(await keyStates(name)).toEqual({ [stored.AccessKeyId]: 'Active' });
    // The new key authenticates (still restricted: the auto rule keeps the deny policy).
    expect(await callerArn({ id: stored.AccessKeyId, secret: stored.SecretAccessKey })).toMatch(new RegExp(`:user/${name}$`));
    expect(status.applied.find((a) => a.action === 'rotate')?.detail).toMatchObject({ newKeyId: stored.AccessKeyId, secretFingerprint: fingerprint(stored.SecretAccessKey) });
    expect(await decodedHistoryText(handle)).not.toContain(stored.SecretAccessKey);
    expect(JSON.stringify(await handle.query(auditQuery))).not.toContain(stored.SecretAccessKey);
  });
});
