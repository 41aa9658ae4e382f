// The aws-iam connector against a real moto server with IAM authentication switched on: every
// call (Cordon's and the test's) is signed with an access key that must exist in moto's IAM, and
// moto evaluates the caller's identity policies. What moto enforces, checked in
// moto/iam/access_control.py (moto 5.2) and by these tests:
//  - a deleted access key is refused everywhere (InvalidClientTokenId), GetCallerIdentity included;
//  - an explicit Deny in an inline policy is enforced (AccessDenied), except on sts:GetCallerIdentity;
//  - access key status is NOT enforced: an Inactive key still works, so isolation is asserted
//    through ListAccessKeys (the state AWS enforces);
//  - trust policies are not evaluated by sts:AssumeRole, so a role's isolation (a Deny on
//    AssumeRole in its trust policy) is asserted through GetRole;
//  - Resource and Condition elements are not evaluated for identity policies: a statement whose
//    condition moto cannot evaluate counts as a denial, so the aws:TokenIssueTime session policy
//    denies even long-term keys on moto (in AWS it matches only temporary credentials). Tests
//    assert that policy through GetUserPolicy, never through its (wrong) effect on moto.
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsIamConnector } from '../activities/connectors/aws-iam';
import { QUARANTINE_POLICY_ARN } from '../activities/connectors/aws-iam/quarantine';
import { RESTRICT_POLICY } from '../activities/connectors/aws-iam/restrict';
import { SESSION_POLICY, TRUST_DENY } from '../activities/connectors/aws-iam/isolate';
import { parsePolicy, READ_PERMISSIONS } from '../activities/connectors/aws-iam/principal';
import type { ActionName, Connector, ConnectorSettings } from '../activities/connectors/types';
import { fingerprint } from '../src/digest';
import { auditQuery, decideUpdate, falsePositiveSignal } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { freePort } from './support/processes';
import type { LocalServer } from '../src/sandbox/launch';
import { startMoto } from '../src/sandbox/servers';
import { failureOf } from './support/captured';

type AwsSettings = NonNullable<ConnectorSettings['aws']>;
interface Key {
  id: string;
  secret: string;
}

const REGION = 'us-east-1';
const PREFIX = 'cordon/rotated/';
let moto: LocalServer;
let admin: IAMClient;
let settings: AwsSettings;
/** Cordon with restrict's quarantine option, as its own moto user holding the permissions that option declares. */
let quarantineSettings: AwsSettings;
let counter = 0;

const creds = (k: Key) => ({ accessKeyId: k.id, secretAccessKey: k.secret });
const iamAs = (k: Key) => new IAMClient({ region: REGION, endpoint: moto.url, credentials: creds(k) });
const policy = (Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement });

/** Every permission the connector declares: Cordon's own moto user gets exactly these. */
function declaredPermissions(quarantinePolicy = false): string[] {
  const metadata = createAwsIamConnector({
    db: undefined as never,
    settings: { aws: { region: REGION, rotationSecretPrefix: PREFIX, quarantinePolicy } },
  })!;
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
  const boot = new IAMClient({
    region: REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await boot.send(new CreateUserCommand({ UserName: 'test-admin' }));
  await boot.send(
    new PutUserPolicyCommand({
      UserName: 'test-admin',
      PolicyName: 'all',
      PolicyDocument: policy([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
    }),
  );
  const made = (await boot.send(new CreateAccessKeyCommand({ UserName: 'test-admin' }))).AccessKey!;
  admin = iamAs({ id: made.AccessKeyId!, secret: made.SecretAccessKey! });

  // Cordon's identity: only the permissions its actions declare. Resource '*' because moto
  // matches Resource patterns against '*' only (the README's policy scopes them).
  const cordonUser = async (name: string, quarantinePolicy: boolean) => {
    await admin.send(new CreateUserCommand({ UserName: name }));
    await admin.send(
      new PutUserPolicyCommand({
        UserName: name,
        PolicyName: 'cordon',
        PolicyDocument: policy([{ Effect: 'Allow', Action: declaredPermissions(quarantinePolicy), Resource: '*' }]),
      }),
    );
    const key = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    return {
      region: REGION,
      endpoint: moto.url,
      rotationSecretPrefix: PREFIX,
      quarantinePolicy,
      credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! },
    };
  };
  settings = await cordonUser('cordon', false);
  quarantineSettings = await cordonUser('cordon-quarantine', true);
});
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => moto?.stop());

const h = useHarness({ connectors: () => ({ aws: settings }) });

let made: Connector | undefined;
const aws = () => (made ??= createAwsIamConnector({ db: h.db, settings: { aws: settings } })!);
// Every test works on identities of its own; one case id serves unless a test is about cases.
const CASE = 'case-1';
const act = (name: ActionName, identityId: string, idempotencyKey = `test-${name}-${++counter}`, caseId = CASE) =>
  aws().actions[name]!.run({ identityId, idempotencyKey, caseId });
const undo = (name: 'restrict' | 'isolate', identityId: string, caseId = CASE) =>
  aws().actions[name]!.undo!({ identityId, idempotencyKey: `undo-${++counter}`, caseId });
const verify = (identityId: string, action: ActionName, caseId = CASE) => aws().verify(identityId, action, caseId);
let quarantining: Connector | undefined;
const withQuarantine = () =>
  (quarantining ??= createAwsIamConnector({ db: h.db, settings: { aws: quarantineSettings } })!);

/** A user that can call iam:GetUser on itself, with `keys` access keys (the first Active). */
async function newUser(keys = 1): Promise<{ name: string; keys: Key[] }> {
  const name = `app-${++counter}`;
  await admin.send(new CreateUserCommand({ UserName: name }));
  await admin.send(
    new PutUserPolicyCommand({
      UserName: name,
      PolicyName: 'app',
      PolicyDocument: policy([{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }]),
    }),
  );
  const made: Key[] = [];
  for (let i = 0; i < keys; i++) {
    const k = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    made.push({ id: k.AccessKeyId!, secret: k.SecretAccessKey! });
  }
  return { name, keys: made };
}

/** What a call signed with the key gets: 'ok' or the AWS error name. moto enforces deny policies and key existence. */
const works = (k: Key) =>
  iamAs(k)
    .send(new GetUserCommand({}))
    .then(
      () => 'ok',
      (e: Error) => e.name,
    );
const callerArn = (k: Key) =>
  new STSClient({ region: REGION, endpoint: moto.url, credentials: creds(k) })
    .send(new GetCallerIdentityCommand({}))
    .then(
      (r) => r.Arn,
      (e: Error) => e.name,
    );
const keyStates = async (user: string) =>
  Object.fromEntries(
    ((await admin.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => [
      k.AccessKeyId,
      k.Status,
    ]),
  );
const attachedPolicies = async (identityId: string) => {
  const listed = identityId.startsWith('role/')
    ? await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: identityId.slice('role/'.length) }))
    : await admin.send(new ListAttachedUserPoliciesCommand({ UserName: identityId }));
  return (listed.AttachedPolicies ?? []).map((a) => a.PolicyArn);
};
const getRolePolicy = (role: string, name: string) =>
  admin.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name })).then(
    (r) => parsePolicy(r.PolicyDocument!),
    (e: Error) => e.name,
  );
const inlinePolicy = (user: string, name: string) =>
  admin.send(new GetUserPolicyCommand({ UserName: user, PolicyName: name })).then(
    (r) => parsePolicy(r.PolicyDocument!),
    (e: Error) => e.name,
  );

const trustedEc2 = { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' };
const trustPolicy = async (role: string) =>
  parsePolicy((await admin.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!);
/** The key pair rotate stored for the user (read as Cordon would). */
async function storedKey(user: string): Promise<{ AccessKeyId: string; SecretAccessKey: string }> {
  const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: settings.credentials });
  return JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${user}` }))).SecretString!);
}

/**
 * A pass-through proxy to moto that can lose AWS as a crashed worker would: after a request whose
 * body contains `marker` has been answered, every later request is dropped (connection reset)
 * until `heal`. Requests are forwarded byte for byte, so their signatures stay valid.
 */
async function startCutProxy() {
  const target = new URL(moto.url);
  let marker: string | undefined;
  let cut = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (cut) return void req.socket.destroy();
      const body = Buffer.concat(chunks);
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            if (marker && body.toString().includes(marker)) cut = true;
            res.writeHead(up.statusCode!, up.headers);
            res.end(Buffer.concat(parts));
          });
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cutAfter: (m: string) => void (marker = m),
    heal: () => void ((cut = false), (marker = undefined)),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The failure a call raised, for asserting its type, retryability and message. */
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
    expect(await verify(name, 'restrict')).toBe(false);

    expect(await act('restrict', name)).toMatchObject({ changed: true });
    expect(await inlinePolicy(name, RESTRICT_POLICY)).toMatchObject({
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    });
    expect(await works(keys[0])).toBe('AccessDenied'); // moto enforces explicit denies
    expect(await verify(name, 'restrict')).toBe(true);
    expect(await act('restrict', name)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('restrict', name)).toMatchObject({ changed: true });
    expect(await verify(name, 'restrict')).toBe(false);
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

  describe('restrict with the quarantine option (CORDON_AWS_QUARANTINE_POLICY)', () => {
    const run = (identityId: string, caseId = CASE) =>
      withQuarantine().actions.restrict!.run({ identityId, idempotencyKey: `q-${++counter}`, caseId });
    const undoRun = (identityId: string, caseId = CASE) =>
      withQuarantine().actions.restrict!.undo!({ identityId, idempotencyKey: `q-undo-${++counter}`, caseId });
    const holds = (identityId: string, caseId = CASE) => withQuarantine().verify(identityId, 'restrict', caseId);

    it('declares the attach and detach permissions only when the option is on', () => {
      const quarantinePermissions = ['iam:AttachUserPolicy', 'iam:AttachRolePolicy', 'iam:DetachUserPolicy'];
      expect(withQuarantine().actions.restrict!.permissions).toEqual(expect.arrayContaining(quarantinePermissions));
      for (const permission of quarantinePermissions) expect(declaredPermissions()).not.toContain(permission);
    });

    it('attaches the quarantine policy to a user; a repeat is a no-op; verify needs it; undo detaches it', async () => {
      const { name } = await newUser();
      const before = await withQuarantine().snapshot(name);
      expect(await run(name)).toEqual({
        changed: true,
        detail: { policy: RESTRICT_POLICY, quarantinePolicy: QUARANTINE_POLICY_ARN },
      });
      expect(await attachedPolicies(name)).toEqual([QUARANTINE_POLICY_ARN]);
      expect(await holds(name)).toBe(true);
      expect(await run(name)).toMatchObject({ changed: false, detail: { already: true } });

      // Someone detaches it: the case's restriction no longer holds, and a repeat attaches it again.
      await admin.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn: QUARANTINE_POLICY_ARN }));
      expect(await holds(name)).toBe(false);
      expect(await run(name)).toMatchObject({ changed: true });
      expect(await attachedPolicies(name)).toEqual([QUARANTINE_POLICY_ARN]);

      expect(await undoRun(name)).toMatchObject({ changed: true, detail: { quarantinePolicy: 'detached' } });
      expect(await attachedPolicies(name)).toEqual([]);
      expect(await holds(name)).toBe(false);
      expect(await undoRun(name)).toMatchObject({ changed: false, detail: { already: true } });
      expect(await withQuarantine().snapshot(name)).toEqual(before);
    });

    it('attaches it to a role (AttachRolePolicy); undo detaches it and restores the snapshot', async () => {
      const role = `runner-${++counter}`;
      await admin.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: policy([trustedEc2]) }));
      const id = `role/${role}`;
      const before = await withQuarantine().snapshot(id);
      expect(await run(id)).toMatchObject({ changed: true, detail: { quarantinePolicy: QUARANTINE_POLICY_ARN } });
      expect(await attachedPolicies(id)).toEqual([QUARANTINE_POLICY_ARN]);
      expect(await holds(id)).toBe(true);
      expect(await run(id)).toMatchObject({ changed: false });
      expect(await undoRun(id)).toMatchObject({ changed: true, detail: { quarantinePolicy: 'detached' } });
      expect(await attachedPolicies(id)).toEqual([]);
      expect(await withQuarantine().snapshot(id)).toEqual(before);
    });

    it('leaves the policy attached on undo when it was attached before the case', async () => {
      const { name } = await newUser();
      const role = `runner-${++counter}`;
      await admin.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: policy([trustedEc2]) }));
      await admin.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: QUARANTINE_POLICY_ARN }));
      await admin.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: QUARANTINE_POLICY_ARN }));
      for (const id of [name, `role/${role}`]) {
        const before = await withQuarantine().snapshot(id);
        // The inline deny is new; the quarantine policy was there already.
        expect(await run(id)).toMatchObject({ changed: true, detail: { quarantinePolicy: QUARANTINE_POLICY_ARN } });
        expect(await holds(id)).toBe(true);
        expect(await undoRun(id)).toMatchObject({
          changed: true,
          detail: { restored: 'absent', quarantinePolicy: 'kept (attached before the case)' },
        });
        expect(await attachedPolicies(id)).toEqual([QUARANTINE_POLICY_ARN]);
        expect(await withQuarantine().snapshot(id)).toEqual(before);
      }
    });

    it('off (the default), restrict attaches nothing; turned off after the case attached it, undo still detaches it', async () => {
      const { name } = await newUser();
      expect(await act('restrict', name)).toEqual({ changed: true, detail: { policy: RESTRICT_POLICY } });
      expect(await attachedPolicies(name)).toEqual([]);
      expect(await undo('restrict', name)).toMatchObject({ changed: true });

      const other = (await newUser()).name;
      await run(other, 'case-on');
      // The same Cordon identity, restarted with the option off while the case is open.
      const switchedOff = createAwsIamConnector({
        db: h.db,
        settings: { aws: { ...quarantineSettings, quarantinePolicy: false } },
      })!;
      expect(await switchedOff.verify(other, 'restrict', 'case-on')).toBe(true);
      expect(
        await switchedOff.actions.restrict!.undo!({ identityId: other, idempotencyKey: 'off-undo', caseId: 'case-on' }),
      ).toMatchObject({ changed: true, detail: { quarantinePolicy: 'detached' } });
      expect(await attachedPolicies(other)).toEqual([]);
    });
  });

  it('isolate: deactivates exactly the Active keys, cuts older sessions; undo reactivates only those', async () => {
    const { name, keys } = await newUser(2);
    await admin.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: keys[1].id, Status: 'Inactive' }));
    const before = await aws().snapshot(name);
    expect(await verify(name, 'isolate')).toBe(false);

    const result = await act('isolate', name);
    expect(result).toMatchObject({ changed: true, detail: { keys: [keys[0].id], deactivated: [keys[0].id] } });
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [keys[1].id]: 'Inactive' });
    const session = (await inlinePolicy(name, SESSION_POLICY)) as {
      Statement: { Effect: string; Condition: Record<string, Record<string, string>> }[];
    };
    expect(session.Statement[0]).toMatchObject({
      Effect: 'Deny',
      Condition: { DateLessThan: { 'aws:TokenIssueTime': result.detail.sessionsIssuedBefore } },
    });
    expect(await verify(name, 'isolate')).toBe(true);
    expect(await act('isolate', name)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('isolate', name)).toMatchObject({ changed: true, detail: { reactivated: [keys[0].id] } });
    // The key that was Inactive before isolation stays Inactive: undo restores, it does not enable.
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Active', [keys[1].id]: 'Inactive' });
    expect(await verify(name, 'isolate')).toBe(false);
    expect(await undo('isolate', name)).toMatchObject({ changed: false, detail: { already: true } });
    expect(await aws().snapshot(name)).toEqual(before);
    expect(await works(keys[0])).toBe('ok');
  });

  it('restrict and isolate work on a role (role/<name>): isolate denies new sessions too; undo restores it', async () => {
    const role = `runner-${++counter}`;
    await admin.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: policy([trustedEc2]) }));
    await admin.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: 'work',
        PolicyDocument: policy([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }]),
      }),
    );
    const id = `role/${role}`;
    const before = await aws().snapshot(id);
    expect(before).toMatchObject({ kind: 'role', name: role, inlinePolicies: [{ name: 'work' }] });
    for (const action of ['restrict', 'isolate'] as const) {
      expect(await act(action, id)).toMatchObject({ changed: true });
      expect(await verify(id, action)).toBe(true);
      expect(await act(action, id)).toMatchObject({ changed: false });
    }
    expect((await aws().snapshot(id)).inlinePolicies).toHaveLength(3);
    // New sessions: the trust policy now denies AssumeRole to everyone, its own statement kept.
    expect(await trustPolicy(role)).toEqual({ Version: '2012-10-17', Statement: [trustedEc2, TRUST_DENY] });
    // Someone takes the deny out of the trust policy: new sessions are possible, so not isolated.
    await admin.send(new UpdateAssumeRolePolicyCommand({ RoleName: role, PolicyDocument: policy([trustedEc2]) }));
    expect(await verify(id, 'isolate')).toBe(false);
    expect(await act('isolate', id)).toMatchObject({ changed: true, detail: { trustPolicyChanged: true } });
    expect(await verify(id, 'isolate')).toBe(true);
    for (const action of ['isolate', 'restrict'] as const) {
      expect(await undo(action, id)).toMatchObject({ changed: true });
      expect(await verify(id, action)).toBe(false);
    }
    expect(await aws().snapshot(id)).toEqual(before);
    const refused = await failureOf(() => act('revoke', id));
    expect(refused).toMatchObject({ type: 'AwsIamUnsupported', nonRetryable: true });
    expect(refused.message).toMatch(/is a role without any/);
  });

  it('a second case on the same user restores what it found, not what the first case found', async () => {
    const { name, keys } = await newUser();
    // Case A contains the user and closes "contained": nothing is undone.
    expect(await act('restrict', name, undefined, 'case-A')).toMatchObject({ changed: true });
    const first = await act('isolate', name, undefined, 'case-A');
    expect(first.detail).toMatchObject({ deactivated: [keys[0].id] });
    // The owner then issues a new key; the old one stays inactive, the policies stay.
    const fresh = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!.AccessKeyId!;
    const found = await aws().snapshot(name);
    const sessionsFound = await inlinePolicy(name, SESSION_POLICY);
    expect(await verify(name, 'isolate', 'case-B')).toBe(false); // the new key is Active

    // Case B: restrict is already in effect, isolate only partly; both run again.
    expect(await act('restrict', name, undefined, 'case-B')).toMatchObject({
      changed: false,
      detail: { already: true },
    });
    const second = await act('isolate', name, undefined, 'case-B');
    expect(second).toMatchObject({ changed: true, detail: { keys: [fresh], deactivated: [fresh] } });
    // Its own cut-off, not case A's: sessions issued between the two cases are cut too.
    expect((second.detail.sessionsIssuedBefore as string) > (first.detail.sessionsIssuedBefore as string)).toBe(true);
    expect(await inlinePolicy(name, SESSION_POLICY)).toMatchObject({
      Statement: [{ Condition: { DateLessThan: { 'aws:TokenIssueTime': second.detail.sessionsIssuedBefore } } }],
    });
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [fresh]: 'Inactive' });
    expect(await verify(name, 'isolate', 'case-B')).toBe(true);

    // Case B was a false positive: its undo brings back the state case B found.
    expect(await undo('isolate', name, 'case-B')).toMatchObject({
      changed: true,
      detail: { reactivated: [fresh], sessionPolicy: 'restored' },
    });
    expect(await undo('restrict', name, 'case-B')).toMatchObject({ changed: false });
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [fresh]: 'Active' });
    expect(await inlinePolicy(name, RESTRICT_POLICY)).toMatchObject({
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    });
    expect(await inlinePolicy(name, SESSION_POLICY)).toEqual(sessionsFound);
    expect(await aws().snapshot(name)).toEqual(found);
  });

  it('a second case on the same role keeps the isolation an earlier case left in place when it undoes', async () => {
    const role = `runner-${++counter}`;
    await admin.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: policy([trustedEc2]) }));
    const id = `role/${role}`;
    await act('isolate', id, undefined, 'case-A');
    const found = await aws().snapshot(id);
    const sessionsFound = await getRolePolicy(role, SESSION_POLICY);

    expect(await act('isolate', id, undefined, 'case-B')).toMatchObject({
      changed: true,
      detail: { trustPolicyChanged: false },
    });
    expect(await getRolePolicy(role, SESSION_POLICY)).not.toEqual(sessionsFound);
    expect(await undo('isolate', id, 'case-B')).toMatchObject({
      changed: true,
      detail: { newSessions: 'still denied (found so)', sessionPolicy: 'restored' },
    });
    expect(await trustPolicy(role)).toEqual({ Version: '2012-10-17', Statement: [trustedEc2, TRUST_DENY] });
    expect(await getRolePolicy(role, SESSION_POLICY)).toEqual(sessionsFound);
    expect(await aws().snapshot(id)).toEqual(found);
  });

  it('revoke spares only keys its own case rotated in: a key an earlier case rotated in is revoked when it leaks', async () => {
    const { name, keys } = await newUser();
    // Case A (the auto rule's order): revoke the leaked key, then rotate a new one in.
    expect(await act('revoke', name, undefined, 'case-A')).toMatchObject({ detail: { keys: [keys[0].id] } });
    const rotatedA = (await act('rotate', name, undefined, 'case-A')).detail.newKeyId as string;
    expect(await keyStates(name)).toEqual({ [rotatedA]: 'Active' });
    expect(await verify(name, 'revoke', 'case-A')).toBe(true);

    // The rotated key leaks in turn; case B revokes it (it exists at case B's first revoke).
    expect(await verify(name, 'revoke', 'case-B')).toBe(false);
    expect(await act('revoke', name, undefined, 'case-B')).toMatchObject({
      changed: true,
      detail: { keys: [rotatedA] },
    });
    expect(await keyStates(name)).toEqual({});
    expect(await verify(name, 'revoke', 'case-B')).toBe(true);
    const rotatedB = (await act('rotate', name, undefined, 'case-B')).detail.newKeyId as string;

    // Case C rotates first, then revokes: the key it rotated in stays, case B's goes.
    const rotatedC = (await act('rotate', name, undefined, 'case-C')).detail.newKeyId as string;
    expect(await act('revoke', name, undefined, 'case-C')).toMatchObject({
      changed: true,
      detail: { keys: [rotatedB] },
    });
    expect(await keyStates(name)).toEqual({ [rotatedC]: 'Active' });
    expect((await storedKey(name)).AccessKeyId).toBe(rotatedC);
  });

  it('revoke: deletes the keys present at its first attempt; they stop working; a repeat is done', async () => {
    const { name, keys } = await newUser(2);
    await admin.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: keys[1].id, Status: 'Inactive' }));
    expect(await callerArn(keys[0])).toMatch(new RegExp(`:user/${name}$`));
    expect(await verify(name, 'revoke')).toBe(false);

    const result = await act('revoke', name);
    expect(result.changed).toBe(true);
    expect((result.detail.deleted as { id: string }[]).map((d) => d.id).sort()).toEqual(keys.map((k) => k.id).sort());
    expect(await keyStates(name)).toEqual({});
    // moto checks key existence on every signed call: the revoked key is refused, even by STS.
    expect(await works(keys[0])).toBe('InvalidClientTokenId');
    expect(await callerArn(keys[0])).toBe('InvalidClientTokenId');
    expect(await verify(name, 'revoke')).toBe(true);
    expect(await act('revoke', name, 'same-request')).toMatchObject({ changed: false, detail: { already: true } });

    // A key issued after the revoke is not one of this case's compromised keys: another revoke of the case keeps it.
    const fresh = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    expect(await act('revoke', name)).toMatchObject({ changed: false });
    expect(await keyStates(name)).toEqual({ [fresh.AccessKeyId!]: 'Active' });
    expect(await verify(name, 'revoke')).toBe(true);
    // A later case (the fresh key leaked in turn) acts on the keys that exist now, not on the first case's list.
    expect(await verify(name, 'revoke', 'case-2')).toBe(false);
    expect(await act('revoke', name, 'case-2-revoke', 'case-2')).toMatchObject({
      changed: true,
      detail: { keys: [fresh.AccessKeyId] },
    });
    expect(await keyStates(name)).toEqual({});
    expect(await verify(name, 'revoke', 'case-2')).toBe(true);
  });

  it('rotate: stores the new key in Secrets Manager, returns only its id and fingerprint, deactivates the old', async () => {
    const { name, keys } = await newUser();
    expect(await verify(name, 'rotate')).toBe(false);
    const result = await act('rotate', name, 'rotation-1');
    expect(result.changed).toBe(true);
    const newKeyId = result.detail.newKeyId as string;

    const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: settings.credentials });
    const stored = JSON.parse(
      (await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${name}` }))).SecretString!,
    );
    expect(stored).toMatchObject({ UserName: name, AccessKeyId: newKeyId });
    expect(result.detail.secretFingerprint).toBe(fingerprint(stored.SecretAccessKey));
    expect(JSON.stringify(result)).not.toContain(stored.SecretAccessKey);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [newKeyId]: 'Active' });
    expect(await works({ id: newKeyId, secret: stored.SecretAccessKey })).toBe('ok');
    expect(await verify(name, 'rotate')).toBe(true);

    // The same request again (a Temporal retry) issues nothing new.
    expect(await act('rotate', name, 'rotation-1')).toEqual({
      changed: false,
      detail: {
        newKeyId,
        secretFingerprint: result.detail.secretFingerprint,
        secretId: `${PREFIX}${name}`,
        deactivated: [],
        already: true,
      },
    });
    expect(Object.keys(await keyStates(name))).toHaveLength(2);
  });

  it('rotate after a crash between CreateAccessKey and the store: the stored key is the one recorded, and the case revoke spares it', async () => {
    const { name, keys } = await newUser();
    const proxy = await startCutProxy();
    try {
      const viaProxy = createAwsIamConnector({ db: h.db, settings: { aws: { ...settings, endpoint: proxy.url } } })!;
      const attempt = () =>
        viaProxy.actions.rotate!.run({ identityId: name, idempotencyKey: 'crashing-rotation', caseId: 'crash-case' });
      // Attempt 1: the key is created, then AWS is out of reach (nothing more arrives, not even a cleanup).
      proxy.cutAfter('Action=CreateAccessKey');
      expect(await failureOf(attempt)).toMatchObject({ type: 'AwsIamTransient', nonRetryable: false });
      const lost = Object.keys(await keyStates(name)).filter((id) => id !== keys[0].id);
      expect(lost).toHaveLength(1);

      // Attempt 2 (Temporal's retry): the unstored key is deleted, a new one created and stored.
      proxy.heal();
      const result = await attempt();
      const newKeyId = result.detail.newKeyId as string;
      expect(newKeyId).not.toBe(lost[0]);
      expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive', [newKeyId]: 'Active' });
      expect(await storedKey(name)).toMatchObject({ AccessKeyId: newKeyId });
    } finally {
      await proxy.close();
    }
    // The case's revoke deletes the compromised key and spares the one the case stored.
    const revoked = await act('revoke', name, 'after-crash-revoke', 'crash-case');
    expect(revoked.detail.keys).toEqual([keys[0].id]);
    const stored = await storedKey(name);
    expect(await keyStates(name)).toEqual({ [stored.AccessKeyId]: 'Active' });
    expect(await works({ id: stored.AccessKeyId, secret: stored.SecretAccessKey })).toBe('ok');
  });

  it('rotate whose store is refused (Secrets Manager denied) deletes the new key before failing', async () => {
    const { name, keys } = await newUser();
    // A Cordon identity with every declared permission, but denied writing secrets.
    const user = `cordon-nosm-${++counter}`;
    await admin.send(new CreateUserCommand({ UserName: user }));
    await admin.send(
      new PutUserPolicyCommand({
        UserName: user,
        PolicyName: 'cordon',
        PolicyDocument: policy([
          { Effect: 'Allow', Action: declaredPermissions(), Resource: '*' },
          { Effect: 'Deny', Action: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'], Resource: '*' },
        ]),
      }),
    );
    const key = (await admin.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!;
    const denied = createAwsIamConnector({
      db: h.db,
      settings: {
        aws: { ...settings, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } },
      },
    })!;

    const failure = await failureOf(() =>
      denied.actions.rotate!.run({ identityId: name, idempotencyKey: 'denied-rotation', caseId: CASE }),
    );
    expect(failure).toMatchObject({ type: 'AwsIamRejected', nonRetryable: true });
    // moto answers this JSON-protocol deny in XML, so the SDK names a parse error; the status is AWS's 403.
    expect(failure.message).toMatch(
      /storing the new key .* failed: .*\(HTTP 403\); the new access key \S+ was deleted again$/s,
    );
    // No live key nobody holds: only the old key is left, untouched, and a later rotation has room.
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Active' });
    expect((await act('rotate', name)).changed).toBe(true);
  });

  it('rotate refuses a user already at the 2-key maximum, permanently and clearly', async () => {
    const { name } = await newUser(2);
    const failure = await failureOf(() => act('rotate', name));
    expect(failure).toMatchObject({ type: 'AwsIamRejected', nonRetryable: true });
    expect(failure.message).toMatch(/already has 2 access keys/);
  });

  it('maps provider errors: unknown user and access denied are permanent, a server that is down is retryable', async () => {
    for (const call of [
      () => aws().snapshot('nobody-here'),
      () => act('restrict', 'nobody-here'),
      () => act('isolate', 'nobody-here'),
      () => act('revoke', 'nobody-here'),
      () => act('rotate', 'nobody-here'),
    ]) {
      const failure = await failureOf(call);
      expect(failure).toMatchObject({ type: 'AwsIamNotFound', nonRetryable: true });
      expect(failure.message).toMatch(/user "nobody-here".*NoSuchEntity/);
    }
    expect(await failureOf(() => act('restrict', 'bad name!'))).toMatchObject({
      type: 'AwsIamUnsupported',
      nonRetryable: true,
    });

    // A Cordon key without the needed permissions (the app user may only call iam:GetUser).
    const { name, keys } = await newUser();
    const weak = createAwsIamConnector({ db: h.db, settings: { aws: { ...settings, credentials: creds(keys[0]) } } })!;
    const denied = await failureOf(() =>
      weak.actions.restrict!.run({ identityId: name, idempotencyKey: 'weak', caseId: CASE }),
    );
    expect(denied).toMatchObject({ type: 'AwsIamRejected', nonRetryable: true });
    expect(denied.message).toMatch(/AccessDenied/);
    expect(denied.message).not.toContain(keys[0].secret);

    const closed = await freePort();
    const down = createAwsIamConnector({
      db: h.db,
      settings: { aws: { ...settings, endpoint: `http://127.0.0.1:${closed}` } },
    })!;
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
    const caseId = (await handle.describe()).runId; // the case is the workflow's first run
    expect(await works(keys[0])).toBe('AccessDenied'); // restricted: moto enforces the deny
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'leaked in CI logs' }],
    });
    const status = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(status.applied.map((a) => [a.action, a.changed, a.verified])).toEqual([
      ['restrict', true, true],
      ['isolate', true, true],
    ]);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Inactive' });
    expect(await verify(name, 'isolate', caseId)).toBe(true);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'a sanctioned deploy job' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(await aws().snapshot(name)).toEqual(initial);
    expect(await keyStates(name)).toEqual({ [keys[0].id]: 'Active' });
    expect(await verify(name, 'restrict', caseId)).toBe(false);
    expect(await verify(name, 'isolate', caseId)).toBe(false);
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
    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['revoke', true],
      ['rotate', true],
    ]);

    expect(await callerArn(keys[0])).toBe('InvalidClientTokenId');
    const sm = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: settings.credentials });
    const stored = JSON.parse(
      (await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${name}` }))).SecretString!,
    );
    expect(await keyStates(name)).toEqual({ [stored.AccessKeyId]: 'Active' });
    // The new key authenticates (still restricted: the auto rule keeps the deny policy).
    expect(await callerArn({ id: stored.AccessKeyId, secret: stored.SecretAccessKey })).toMatch(
      new RegExp(`:user/${name}$`),
    );
    expect(status.applied.find((a) => a.action === 'rotate')?.detail).toMatchObject({
      newKeyId: stored.AccessKeyId,
      secretFingerprint: fingerprint(stored.SecretAccessKey),
    });
    expect(await decodedHistoryText(handle)).not.toContain(stored.SecretAccessKey);
    expect(JSON.stringify(await handle.query(auditQuery))).not.toContain(stored.SecretAccessKey);
  });
});
