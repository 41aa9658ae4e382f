import { mapLimit } from '../mapLimit';
import type { KubeClient } from './client';
import { RBAC, type BindingRef, type RoleRef } from './bindings';
import { groupsOf, usernameOf, type AccountRef } from './identity';

/** One rule of a Role or ClusterRole. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

type ResourceAttributes = {
  namespace?: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
};
type Attributes =
  { resourceAttributes: ResourceAttributes } | { nonResourceAttributes: { path: string; verb: string } };

const CHECKS_AT_ONCE = 8;

/** The rules a binding's role grants (none when the role does not exist). */
async function rulesOf(kube: KubeClient, roleRef: RoleRef, namespace?: string): Promise<PolicyRule[]> {
  const name = encodeURIComponent(roleRef.name);
  const path =
    roleRef.kind === 'Role' ? `${RBAC}/namespaces/${namespace}/roles/${name}` : `${RBAC}/clusterroles/${name}`;
  return (await kube.find<{ rules?: PolicyRule[] }>(path))?.rules ?? [];
}

/**
 * Every request a rule allows, one per verb × group × resource (and its first resource name, if
 * it names some), in the binding's namespace; a ClusterRoleBinding's cluster-wide (no namespace).
 */
export function requestsOf(rule: PolicyRule, namespace?: string): Attributes[] {
  const out: Attributes[] = [];
  for (const verb of rule.verbs) {
    for (const path of rule.nonResourceURLs ?? []) out.push({ nonResourceAttributes: { path, verb } });
    for (const group of rule.apiGroups ?? []) {
      for (const full of rule.resources ?? []) {
        const [resource, subresource] = full.split('/', 2);
        const name = rule.resourceNames?.[0];
        out.push({
          resourceAttributes: {
            namespace,
            verb,
            group,
            resource,
            ...(subresource ? { subresource } : {}),
            ...(name ? { name } : {}),
          },
        });
      }
    }
  }
  return out;
}

/** What the authorizer answers for `user` (with the account's groups) and these attributes. */
async function allowed(kube: KubeClient, sa: AccountRef, user: string, attributes: Attributes): Promise<boolean> {
  const res = await kube.call<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user, groups: [...groupsOf(sa), 'system:authenticated'], ...attributes },
      },
    },
  );
  return res.body?.status?.allowed === true;
}

/**
 * A user name that no ServiceAccount subject can match (account names are lower case): it gets
 * exactly what every account of the namespace gets through shared groups, and nothing of its own.
 */
const referenceUser = (sa: AccountRef) => `system:serviceaccount:${sa.namespace}:Cordon-Reference`;

/**
 * Requests the captured bindings granted that the account can still make, although an account
 * with no binding of its own (the reference) could not: empty when the restriction holds. Asked
 * with SubjectAccessReview, so it reads what the authorizer decides, not only the binding lists.
 */
export async function stillGranted(
  kube: KubeClient,
  sa: AccountRef,
  bindings: { ref: BindingRef; roleRef: RoleRef }[],
): Promise<Attributes[]> {
  const requests: Attributes[] = [];
  for (const { ref, roleRef } of bindings)
    for (const rule of await rulesOf(kube, roleRef, ref.namespace)) requests.push(...requestsOf(rule, ref.namespace));
  const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
  const kept = await mapLimit(
    unique,
    CHECKS_AT_ONCE,
    async (request) =>
      (await allowed(kube, sa, usernameOf(sa), request)) && !(await allowed(kube, sa, referenceUser(sa), request)),
  );
  return unique.filter((_, i) => kept[i]);
}

/** The permissions the check needs (reading the roles, asking the authorizer). */
export const ACCESS_CHECK_PERMISSIONS = [
  'roles.rbac.authorization.k8s.io: get',
  'clusterroles.rbac.authorization.k8s.io: get',
  'subjectaccessreviews.authorization.k8s.io: create',
];
