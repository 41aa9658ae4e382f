import { createHash } from 'node:crypto';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import { capture, capturesStartingWith } from '../captures';
import type { ConnectorAction } from '../types';
import { aws, AwsIamFailure, awsOptional, notYet, toFailure, type AwsClients } from './client';
import { listKeys, principalOf, requireExists, requireUser, type Principal } from './principal';

/** What the secret `<rotationSecretPrefix><user>` holds: the key pair and which rotation made it. */
interface StoredKey {
  UserName: string;
  AccessKeyId: string;
  SecretAccessKey: string;
  RotationId: string;
}

const MAX_KEYS = 2;

export const secretIdFor = (clients: AwsClients, user: string) => `${clients.settings.rotationSecretPrefix}${user}`;

/** Reads the stored key; inside this process only (its secret part never leaves as such). */
export async function readStoredKey(clients: AwsClients, p: Principal): Promise<StoredKey | undefined> {
  const SecretId = secretIdFor(clients, p.name);
  const found = await awsOptional(`GetSecretValue ${SecretId}`, () =>
    clients.secrets.send(new GetSecretValueCommand({ SecretId })),
  );
  if (!found?.SecretString) return undefined;
  try {
    return JSON.parse(found.SecretString) as StoredKey;
  } catch {
    return undefined;
  }
}

// Secrets Manager idempotency token (32-64 chars), one per rotation and key: a retried store of
// the same key is a no-op, and a key that replaces a lost one gets a version of its own.
const tokenFor = (value: StoredKey) =>
  createHash('sha256').update(`${value.RotationId}\n${value.AccessKeyId}`).digest('hex').slice(0, 64);

async function storeKey(clients: AwsClients, p: Principal, value: StoredKey): Promise<string> {
  const SecretId = secretIdFor(clients, p.name);
  const SecretString = JSON.stringify(value);
  const ClientRequestToken = tokenFor(value);
  try {
    const made = await clients.secrets.send(
      new CreateSecretCommand({
        Name: SecretId,
        SecretString,
        ClientRequestToken,
        Description: `IAM access key of ${p.name}, rotated by Cordon`,
      }),
    );
    return made.ARN!;
  } catch (err) {
    if ((err as Error).name !== 'ResourceExistsException') throw err;
  }
  const put = await aws(`PutSecretValue ${SecretId}`, () =>
    clients.secrets.send(new PutSecretValueCommand({ SecretId, SecretString, ClientRequestToken })),
  );
  return put.ARN!;
}

/** What the case records for each key its rotate stored: that key is Cordon's, not a leaked one. */
interface RotatedCapture {
  newKey: string;
  rotation: string;
}

/**
 * The access key ids this case's rotate issued and stored (its revoke spares them). Keys an
 * earlier case issued are not included: they may have leaked since, and a later case revokes them.
 */
export async function rotatedKeyIds(db: Database, identityId: string, caseId: string): Promise<string[]> {
  const rotations = await capturesStartingWith<RotatedCapture>(
    db,
    { provider: 'aws-iam', identityId, caseId },
    'rotated:',
  );
  return rotations.map((r) => r.newKey);
}

/**
 * Records a stored key as this case's. Keyed by the key id, and written only once the key is in
 * Secrets Manager (again on every retry that finds it there): a key an attempt created but could
 * not store is never recorded, and the key that was stored always is, whichever attempt made it.
 */
async function recordRotated(db: Database, identityId: string, caseId: string, stored: StoredKey): Promise<void> {
  await capture<RotatedCapture>(
    db,
    { provider: 'aws-iam', identityId, caseId, action: `rotated:${stored.AccessKeyId}` },
    async () => ({
      newKey: stored.AccessKeyId,
      rotation: stored.RotationId,
    }),
  );
}

/**
 * After a failed store: deletes the new key (nobody holds its secret, and it counts toward the
 * 2-key limit) and returns the failure to raise. If the delete fails too, a retryable failure is
 * raised unchanged (the retry deletes the unstored key); a permanent one says which key was left.
 */
async function withdrawUnstored(
  clients: AwsClients,
  p: Principal,
  keyId: string,
  failure: ApplicationFailure,
): Promise<ApplicationFailure> {
  const what = `DeleteAccessKey ${keyId} (unstored) of ${p.label}`;
  let outcome: string;
  try {
    await awsOptional(what, () =>
      clients.iam.send(new DeleteAccessKeyCommand({ UserName: p.name, AccessKeyId: keyId })),
    );
    outcome = `the new access key ${keyId} was deleted again`;
  } catch (err) {
    if (!failure.nonRetryable) return failure;
    outcome = `the new access key ${keyId} could not be deleted and must be deleted by hand (${toFailure(err, what).message})`;
  }
  return ApplicationFailure.create({
    type: failure.type ?? undefined,
    message: `${failure.message}; ${outcome}`,
    nonRetryable: !!failure.nonRetryable,
    cause: failure,
  });
}

/** True when the stored key exists and is Active, and every other key of the user is not. */
export async function rotatedNow(clients: AwsClients, identityId: string): Promise<boolean> {
  const p = principalOf(identityId);
  requireUser(p, 'rotate');
  const stored = await readStoredKey(clients, p);
  const keys = await listKeys(clients, p);
  return (
    !!stored &&
    keys.some((k) => k.id === stored.AccessKeyId && k.status === 'Active') &&
    keys.every((k) => k.id === stored.AccessKeyId || k.status !== 'Active')
  );
}

/**
 * Rotate: create a new access key, store it in Secrets Manager (`<prefix><user>`) before
 * anything else, then deactivate the old keys. Only the new key id and a fingerprint of the
 * secret leave this function. One rotation per idempotency key: a retry finds its stored key
 * and finishes the job; a key a crashed attempt created but never stored (its secret is lost)
 * is deleted and replaced; a key whose store failed is deleted before the failure is raised.
 * The case records the key that was stored (see `recordRotated`), so its revoke spares that one.
 */
export const rotateAction = (db: Database, clients: AwsClients): ConnectorAction => ({
  name: 'rotate',
  description: "Issue a new access key into Secrets Manager and deactivate the user's old keys",
  permissions: [
    'iam:GetUser',
    'iam:ListAccessKeys',
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:DeleteAccessKey',
    'secretsmanager:GetSecretValue',
    'secretsmanager:CreateSecret',
    'secretsmanager:PutSecretValue',
  ],
  reversible: false,
  async run({ identityId, idempotencyKey, caseId }) {
    const p = principalOf(identityId);
    requireUser(p, 'rotate');
    await requireExists(clients, p);
    const kept = await capture<{ oldKeys: string[] }>(
      db,
      { provider: 'aws-iam', identityId, caseId, action: `rotate:${idempotencyKey}` },
      async () => ({
        oldKeys: (await listKeys(clients, p)).map((k) => k.id),
      }),
    );
    let stored = await readStoredKey(clients, p);
    let keys = await listKeys(clients, p);
    const mine = stored?.RotationId === idempotencyKey && keys.some((k) => k.id === stored!.AccessKeyId);
    let secretArn: string | undefined;
    if (!mine) {
      // Keys that appeared since this rotation began but are not in the store: an earlier
      // attempt created them and lost their secret. They are useless; delete them.
      for (const k of keys.filter((k) => !kept.oldKeys.includes(k.id))) {
        await awsOptional(`DeleteAccessKey ${k.id} (unstored) of ${p.label}`, () =>
          clients.iam.send(new DeleteAccessKeyCommand({ UserName: p.name, AccessKeyId: k.id })),
        );
      }
      if (keys.filter((k) => kept.oldKeys.includes(k.id)).length >= MAX_KEYS) {
        throw ApplicationFailure.create({
          type: AwsIamFailure.Rejected,
          message: `aws-iam: ${p.label} already has ${MAX_KEYS} access keys (the AWS maximum); revoke before rotating`,
          nonRetryable: true,
        });
      }
      const made = await aws(`CreateAccessKey for ${p.label}`, () =>
        clients.iam.send(new CreateAccessKeyCommand({ UserName: p.name })),
      );
      const newKey = made.AccessKey!;
      stored = {
        UserName: p.name,
        AccessKeyId: newKey.AccessKeyId!,
        SecretAccessKey: newKey.SecretAccessKey!,
        RotationId: idempotencyKey,
      };
      try {
        secretArn = await aws(`storing the new key of ${p.label} in Secrets Manager`, () =>
          storeKey(clients, p, stored!),
        );
      } catch (err) {
        throw await withdrawUnstored(
          clients,
          p,
          newKey.AccessKeyId!,
          toFailure(err, `storing the new key of ${p.label} in Secrets Manager`),
        );
      }
      keys = await listKeys(clients, p);
    }
    await recordRotated(db, identityId, caseId, stored!);
    // Only once the new key is safely stored are the old ones deactivated.
    const deactivated: string[] = [];
    for (const k of keys) {
      if (k.id !== stored!.AccessKeyId && k.status === 'Active') {
        await awsOptional(`UpdateAccessKey ${k.id} to Inactive for ${p.label}`, () =>
          clients.iam.send(new UpdateAccessKeyCommand({ UserName: p.name, AccessKeyId: k.id, Status: 'Inactive' })),
        );
        deactivated.push(k.id);
      }
    }
    const check = await readStoredKey(clients, p);
    if (check?.AccessKeyId !== stored!.AccessKeyId || !(await rotatedNow(clients, identityId))) {
      throw notYet(`the rotated key of ${p.label} is not in place yet`);
    }
    const changed = !mine || deactivated.length > 0;
    return {
      changed,
      detail: {
        newKeyId: stored!.AccessKeyId,
        secretFingerprint: fingerprint(stored!.SecretAccessKey),
        secretId: secretIdFor(clients, p.name),
        ...(secretArn ? { secretArn } : {}),
        deactivated,
        ...(changed ? {} : { already: true }),
      },
    };
  },
});
