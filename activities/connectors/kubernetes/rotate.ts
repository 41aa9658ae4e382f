import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import { capture, capturesStartingWith } from '../captures';
import type { ConnectorAction } from '../types';
import { KubeFailure, type KubeClient } from './client';
import {
  accountOf,
  accountPath,
  derivedName,
  PROVIDER,
  READ_ACCOUNT,
  readAccount,
  secretPath,
  secretsPath,
  settle,
  usernameOf,
  type AccountRef,
  type Secret,
} from './identity';

/** How long a rotated token lives. It is bound to its Secret: deleting the Secret ends it sooner. */
export const ROTATED_TOKEN_SECONDS = 86_400;
const ROTATION = 'cordon.io/rotation';
const EXPIRES = 'cordon.io/expires-at';
const MANAGED_BY = 'app.kubernetes.io/managed-by';

/** Where rotate delivers the new token: a Secret in the account's namespace. */
export const rotatedSecretName = (sa: AccountRef) => derivedName('cordon-rotated-', sa.name);

const decode = (value: string | undefined) => (value ? Buffer.from(value, 'base64').toString('utf8') : undefined);

/** Rotation ids of this case's rotations (captured as `rotate:<rotation>`). */
async function caseRotations(db: Database, identityId: string, caseId: string): Promise<Set<string>> {
  const kept = await capturesStartingWith<{ rotation: string }>(
    db,
    { provider: PROVIDER, identityId, caseId },
    'rotate:',
  );
  return new Set(kept.map((k) => k.rotation));
}

/** True when the API server accepts the token as the account as it is now (TokenReview). */
export async function authenticatesAs(kube: KubeClient, token: string, sa: AccountRef, uid?: string) {
  const res = await kube.call<{ status?: { authenticated?: boolean; user?: { username?: string; uid?: string } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/tokenreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } },
  );
  const status = res.body?.status;
  return (
    status?.authenticated === true && status.user?.username === usernameOf(sa) && (!uid || status.user.uid === uid)
  );
}

/** Post-condition of rotate: the Secret holds a token of this case's rotation that authenticates as the account now. */
export async function rotated(db: Database, kube: KubeClient, identityId: string, caseId: string): Promise<boolean> {
  const sa = accountOf(identityId);
  const account = await readAccount(kube, sa);
  const secret = await kube.find<Secret>(secretPath(sa.namespace, rotatedSecretName(sa)));
  const rotation = secret?.metadata.annotations?.[ROTATION];
  const token = decode(secret?.data?.token);
  if (!rotation || !token || !(await caseRotations(db, identityId, caseId)).has(rotation)) return false;
  return authenticatesAs(kube, token, sa, account.metadata.uid);
}

/** A fresh, empty delivery Secret for this rotation (a new uid: tokens bound to an earlier one end with it). */
async function freshSecret(kube: KubeClient, sa: AccountRef, rotation: string, old?: Secret): Promise<Secret> {
  const name = rotatedSecretName(sa);
  if (old && old.metadata.labels?.[MANAGED_BY] !== 'cordon') {
    throw ApplicationFailure.create({
      type: KubeFailure.Rejected,
      message: `kubernetes: a Secret "${name}" in ${sa.namespace} that Cordon did not make is where rotate delivers; Cordon will not replace it`,
      nonRetryable: true,
    });
  }
  if (old)
    await kube.call('DELETE', secretPath(sa.namespace, name), {
      body: { preconditions: { uid: old.metadata.uid } },
      allow: [404],
    });
  const body: Secret = {
    metadata: {
      name,
      namespace: sa.namespace,
      labels: { [MANAGED_BY]: 'cordon' },
      annotations: { [ROTATION]: rotation, 'kubernetes.io/service-account.name': sa.name },
    },
    type: 'Opaque',
  };
  return (await kube.call<Secret>('POST', secretsPath(sa.namespace), { body })).body!;
}

/**
 * Mints a token bound to the delivery Secret and writes it there. The update carries the Secret's
 * resourceVersion: a concurrent change (409) is retried, with a new token.
 */
async function deliverToken(kube: KubeClient, sa: AccountRef, secret: Secret) {
  const { name, uid } = secret.metadata;
  const minted = await kube.call<{ status: { token: string; expirationTimestamp: string } }>(
    'POST',
    `${accountPath(sa)}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: ROTATED_TOKEN_SECONDS,
          boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name, uid },
        },
      },
    },
  );
  const { token, expirationTimestamp } = minted.body!.status;
  const annotations = { ...secret.metadata.annotations, [EXPIRES]: expirationTimestamp };
  await kube.call('PUT', secretPath(sa.namespace, name), {
    body: {
      ...secret,
      metadata: { ...secret.metadata, annotations },
      data: { token: Buffer.from(token).toString('base64') },
    },
  });
  return { token, expirationTimestamp };
}

/**
 * Rotate: mint a token for the account (TokenRequest) bound to the Secret `cordon-rotated-<name>`
 * in its namespace, and write it there. A new rotation replaces the Secret (new uid), which ends
 * the previous rotated token. The token exists only in that Secret: the result carries its
 * fingerprint and expiry. One rotation per idempotency key: a retry finds its token and stops.
 */
export const rotateAction = (db: Database, kube: KubeClient): ConnectorAction => ({
  name: 'rotate',
  description: `Mint a token for the service account (TokenRequest, ${ROTATED_TOKEN_SECONDS / 3600} h) bound to the Secret cordon-rotated-<name> it is written to; only its fingerprint is returned`,
  permissions: [
    READ_ACCOUNT,
    'serviceaccounts/token: create',
    'secrets: get, create, update, delete',
    'tokenreviews.authentication.k8s.io: create',
  ],
  reversible: false,
  async run({ identityId, idempotencyKey, caseId }) {
    const sa = accountOf(identityId);
    const account = await readAccount(kube, sa);
    const rotation = fingerprint(idempotencyKey);
    await capture(db, { provider: PROVIDER, identityId, caseId, action: `rotate:${rotation}` }, async () => ({
      rotation,
    }));
    const name = rotatedSecretName(sa);
    const found = await kube.find<Secret>(secretPath(sa.namespace, name));
    const mine = found?.metadata.annotations?.[ROTATION] === rotation;
    const delivered = mine ? decode(found!.data?.token) : undefined;
    if (delivered && (await authenticatesAs(kube, delivered, sa, account.metadata.uid))) {
      const expiresAt = found!.metadata.annotations?.[EXPIRES];
      return {
        changed: false,
        detail: {
          already: true,
          secret: `${sa.namespace}/${name}`,
          tokenFingerprint: fingerprint(delivered),
          expiresAt,
        },
      };
    }
    const secret = mine && !delivered ? found! : await freshSecret(kube, sa, rotation, found);
    const { token, expirationTimestamp } = await deliverToken(kube, sa, secret);
    await settle(() => rotated(db, kube, identityId, caseId), `the rotated token of ${identityId}`);
    return {
      changed: true,
      detail: {
        secret: `${sa.namespace}/${name}`,
        tokenFingerprint: fingerprint(token),
        expiresAt: expirationTimestamp,
        boundToSecretUid: secret.metadata.uid,
      },
    };
  },
});
