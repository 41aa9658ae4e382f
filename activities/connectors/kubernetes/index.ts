import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import type { ActionName, Connector, IdentitySnapshot } from '../types';
import { ACCESS_CHECK_PERMISSIONS } from './access';
import { bindingKey, bindingsOf, sharedBindingsOf } from './bindings';
import { KubeClient, type KubeSettings } from './client';
import { accountOf, READ_ACCOUNT, readAccount, tokenSecretsOf, type Secret } from './identity';
import { isolateAction, isolated } from './isolate';
import { restrictAction, restricted } from './restrict';
import { revokeAction, revoked } from './revoke';
import { rotateAction, rotated } from './rotate';

/** What snapshot and verify read (the actions' own permissions cover the rest). */
export const READ_PERMISSIONS = [
  READ_ACCOUNT,
  'secrets: list, get',
  'rolebindings.rbac.authorization.k8s.io: list',
  'clusterrolebindings.rbac.authorization.k8s.io: list',
  ...ACCESS_CHECK_PERMISSIONS,
  'tokenreviews.authentication.k8s.io: create',
];

// The API server sets this label when a legacy token is used (once a day): it changes by itself.
const LAST_USED = 'kubernetes.io/legacy-token-last-used';

const tokenOf = (secret: Secret) => {
  const token = secret.data?.token;
  return token ? fingerprint(Buffer.from(token, 'base64').toString('utf8')) : null;
};

// A Secret made with `kubectl apply` carries its whole manifest, data included, in an annotation:
// only the service-account annotations are kept as they are, the others as fingerprints.
const annotationsOf = (secret: Secret) =>
  Object.fromEntries(
    Object.entries(secret.metadata.annotations ?? {}).map(([key, value]) => [
      key,
      key.startsWith('kubernetes.io/service-account.') ? value : fingerprint(value),
    ]),
  );

/**
 * The account, the bindings that name it and its long-lived token Secrets (fingerprints only).
 * Object versions, creation times, last use and grants through shared groups are `observed`.
 */
async function snapshotOf(kube: KubeClient, identityId: string): Promise<IdentitySnapshot> {
  const sa = accountOf(identityId);
  const account = await readAccount(kube, sa);
  const [bindings, secrets, shared] = await Promise.all([
    bindingsOf(kube, sa),
    tokenSecretsOf(kube, sa),
    sharedBindingsOf(kube, sa),
  ]);
  const { uid, labels, annotations, resourceVersion, creationTimestamp } = account.metadata;
  return {
    serviceAccount: {
      ...sa,
      uid,
      labels: labels ?? {},
      annotations: annotations ?? {},
      automountServiceAccountToken: account.automountServiceAccountToken ?? null,
      secrets: (account.secrets ?? []).map((s) => s.name),
      imagePullSecrets: (account.imagePullSecrets ?? []).map((s) => s.name),
    },
    bindings: bindings.map(({ ref, binding, entries }) => ({
      binding: bindingKey(ref),
      roleRef: binding.roleRef,
      subjects: entries,
    })),
    tokenSecrets: secrets.map((s) => {
      const { [LAST_USED]: _, ...rest } = s.metadata.labels ?? {};
      return { name: s.metadata.name, labels: rest, annotations: annotationsOf(s), token: tokenOf(s) };
    }),
    observed: {
      resourceVersion,
      createdAt: creationTimestamp,
      tokenSecrets: secrets.map((s) => ({
        name: s.metadata.name,
        uid: s.metadata.uid,
        createdAt: s.metadata.creationTimestamp,
        lastUsed: s.metadata.labels?.[LAST_USED] ?? null,
      })),
      sharedGroupBindings: shared,
    },
  };
}

/**
 * The `kubernetes` identity system: service accounts (identity id `namespace/name`, as the Falco
 * adapter names them) on one cluster's API server, through a thin HTTPS client. Nothing connects
 * until an action, snapshot or verify runs.
 */
export function createKubernetesConnector(db: Database, settings: KubeSettings): Connector {
  const kube = new KubeClient(settings);
  const POST_CONDITIONS: Record<ActionName, (identityId: string, caseId: string) => Promise<boolean>> = {
    restrict: (id, caseId) => restricted(db, kube, id, caseId),
    isolate: (id) => isolated(kube, id),
    revoke: (id, caseId) => revoked(db, kube, id, caseId),
    rotate: (id, caseId) => rotated(db, kube, id, caseId),
  };
  return {
    name: 'kubernetes',
    description:
      'Kubernetes service accounts: RBAC binding subjects, token automount and quarantined token Secrets, recreation under a new uid, TokenRequest rotation into a Secret',
    actions: {
      restrict: restrictAction(db, kube),
      isolate: isolateAction(db, kube),
      revoke: revokeAction(db, kube),
      rotate: rotateAction(db, kube),
    },
    snapshot: (identityId) => snapshotOf(kube, identityId),
    verify: (identityId, action, caseId) => POST_CONDITIONS[action](identityId, caseId),
  };
}
