import { ApplicationFailure } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { KubeClient, KubeFailure } from './client';

/** The provider name captures are filed under (the Falco adapter's provider, too). */
export const PROVIDER = 'kubernetes';

/** The object metadata the connector reads and writes back. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A ServiceAccount as the API serves it (the fields Cordon keeps). */
export interface ServiceAccount {
  metadata: ObjectMeta;
  automountServiceAccountToken?: boolean;
  secrets?: { name?: string; namespace?: string; kind?: string; apiVersion?: string }[];
  imagePullSecrets?: { name?: string }[];
}

/** A Secret as the API serves it; `data` values are base64 and are never kept outside the cluster. */
export interface Secret {
  metadata: ObjectMeta;
  type?: string;
  immutable?: boolean;
  data?: Record<string, string>;
}

/** A service account: identity id `namespace/name`. */
export interface AccountRef {
  namespace: string;
  name: string;
}

// Namespaces are DNS labels; service account names DNS subdomains.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function unknownAccount(identityId: string, why = 'no such service account'): ApplicationFailure {
  return ApplicationFailure.create({
    type: KubeFailure.UnknownIdentity,
    message: `kubernetes: ${why} "${identityId}"`,
    nonRetryable: true,
  });
}

/** The service account an identity id names; anything but `namespace/name` is a permanent failure. */
export function accountOf(identityId: string): AccountRef {
  const [namespace, name, extra] = identityId.split('/');
  if (extra !== undefined || !NAMESPACE.test(namespace ?? '') || !NAME.test(name ?? '')) {
    throw unknownAccount(identityId, 'an identity id must be <namespace>/<service account name>, not');
  }
  return { namespace, name };
}

/** The user name the API server gives the account's tokens. */
export const usernameOf = (sa: AccountRef) => `system:serviceaccount:${sa.namespace}:${sa.name}`;
/** The groups every token of the account carries. */
export const groupsOf = (sa: AccountRef) => ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`];

export const accountsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/serviceaccounts`;
export const accountPath = (sa: AccountRef) => `${accountsPath(sa.namespace)}/${encodeURIComponent(sa.name)}`;
export const secretsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/secrets`;
export const secretPath = (namespace: string, name: string) => `${secretsPath(namespace)}/${encodeURIComponent(name)}`;

/** Reads the service account; undefined when it does not exist. */
export const findAccount = (kube: KubeClient, sa: AccountRef) => kube.find<ServiceAccount>(accountPath(sa));

/** Reads the service account; a missing one is a permanent failure ("no such service account"). */
export async function readAccount(kube: KubeClient, sa: AccountRef): Promise<ServiceAccount> {
  const found = await findAccount(kube, sa);
  if (!found) throw unknownAccount(`${sa.namespace}/${sa.name}`);
  return found;
}

/** The permission every action needs to read the account. */
export const READ_ACCOUNT = 'serviceaccounts: get';

/** Type of the long-lived (legacy) token Secrets of a service account. */
export const TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
const ACCOUNT_ANNOTATION = 'kubernetes.io/service-account.name';

/** The account's long-lived token Secrets (annotated with its name), sorted by name. */
export async function tokenSecretsOf(kube: KubeClient, sa: AccountRef): Promise<Secret[]> {
  const selector = encodeURIComponent(`type=${TOKEN_SECRET_TYPE}`);
  const secrets = await kube.list<Secret>(`${secretsPath(sa.namespace)}?fieldSelector=${selector}`);
  return secrets
    .filter((s) => s.metadata.annotations?.[ACCOUNT_ANNOTATION] === sa.name)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * A name for an object Cordon derives from another (`<prefix><name>`), kept within the 253
 * characters Kubernetes allows: a long name is shortened and given a hash of itself.
 */
export function derivedName(prefix: string, name: string): string {
  const full = `${prefix}${name}`;
  if (full.length <= 253) return full;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${full.slice(0, 253 - 17).replace(/[-.]+$/, '')}-${hash}`;
}

/**
 * Polls `holds` for a short while (the API server's caches catch up within seconds) and throws a
 * retryable failure when it still does not hold: the activity's retry checks again.
 */
export async function settle(holds: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await holds()) return;
    if (Date.now() > deadline) {
      throw ApplicationFailure.create({
        type: KubeFailure.Unavailable,
        message: `kubernetes: ${what} does not hold yet`,
        nonRetryable: false,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
