import type { KubeClient } from './client';
import { usernameOf, type AccountRef, type ObjectMeta } from './identity';

/** One subject of a binding, exactly as the API serves it. */
export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export type BindingKind = 'RoleBinding' | 'ClusterRoleBinding';

/** A RoleBinding or ClusterRoleBinding. */
export interface Binding {
  kind?: string;
  apiVersion?: string;
  metadata: ObjectMeta;
  roleRef: RoleRef;
  subjects?: Subject[];
}

/** Where a binding is: its kind, namespace (RoleBindings only) and name. */
export interface BindingRef {
  kind: BindingKind;
  namespace?: string;
  name: string;
}

/** Where the RBAC API is served. */
export const RBAC = '/apis/rbac.authorization.k8s.io/v1';

export function bindingPath(ref: BindingRef): string {
  const name = encodeURIComponent(ref.name);
  return ref.kind === 'RoleBinding'
    ? `${RBAC}/namespaces/${ref.namespace}/rolebindings/${name}`
    : `${RBAC}/clusterrolebindings/${name}`;
}

export const refOf = (kind: BindingKind, b: Binding): BindingRef => ({
  kind,
  ...(kind === 'RoleBinding' ? { namespace: b.metadata.namespace } : {}),
  name: b.metadata.name,
});

/** A stable key of a binding (captures and snapshots are keyed by it). */
export const bindingKey = (ref: BindingRef) =>
  ref.kind === 'RoleBinding' ? `RoleBinding/${ref.namespace}/${ref.name}` : `ClusterRoleBinding/${ref.name}`;

/**
 * True when the subject names the account, as the RBAC authorizer reads it: a ServiceAccount
 * subject (in a RoleBinding an empty namespace means the binding's), or a User subject carrying
 * the account's user name. Group subjects (`system:serviceaccounts…`) are shared with other
 * accounts and are not the account's own.
 */
export function namesAccount(subject: Subject, sa: AccountRef, bindingNamespace?: string): boolean {
  if (subject.kind === 'ServiceAccount')
    return subject.name === sa.name && (subject.namespace || bindingNamespace) === sa.namespace;
  return subject.kind === 'User' && subject.name === usernameOf(sa);
}

/** Every RoleBinding (all namespaces) and ClusterRoleBinding, with its kind. */
export async function allBindings(kube: KubeClient): Promise<{ kind: BindingKind; binding: Binding }[]> {
  const [roleBindings, clusterBindings] = await Promise.all([
    kube.list<Binding>(`${RBAC}/rolebindings`),
    kube.list<Binding>(`${RBAC}/clusterrolebindings`),
  ]);
  return [
    ...roleBindings.map((binding) => ({ kind: 'RoleBinding' as const, binding })),
    ...clusterBindings.map((binding) => ({ kind: 'ClusterRoleBinding' as const, binding })),
  ];
}

/** The account's entries in a binding, with their positions in its subject list. */
export function entriesOf(binding: Binding, sa: AccountRef): { index: number; subject: Subject }[] {
  return (binding.subjects ?? []).flatMap((subject, index) =>
    namesAccount(subject, sa, binding.metadata.namespace) ? [{ index, subject }] : [],
  );
}

/** The bindings that name the account, each with the account's entries. */
export async function bindingsOf(kube: KubeClient, sa: AccountRef) {
  return (await allBindings(kube))
    .map(({ kind, binding }) => ({ ref: refOf(kind, binding), binding, entries: entriesOf(binding, sa) }))
    .filter((b) => b.entries.length > 0)
    .sort((a, b) => bindingKey(a.ref).localeCompare(bindingKey(b.ref)));
}

// Groups whose bindings reach every service account (of the namespace): not the account's own
// grants. `system:authenticated` is left out: every cluster binds it to discovery roles.
const SHARED_GROUPS = (sa: AccountRef) => new Set(['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`]);

/** Bindings that reach the account through a group it shares with other accounts (evidence only). */
export async function sharedBindingsOf(kube: KubeClient, sa: AccountRef) {
  const groups = SHARED_GROUPS(sa);
  return (await allBindings(kube))
    .filter(({ binding }) => (binding.subjects ?? []).some((s) => s.kind === 'Group' && groups.has(s.name)))
    .map(({ kind, binding }) => ({ binding: bindingKey(refOf(kind, binding)), roleRef: binding.roleRef }))
    .sort((a, b) => a.binding.localeCompare(b.binding));
}

/** Writes the binding back with these subjects (update with its resourceVersion: a concurrent change is a 409, retried). */
export async function putSubjects(kube: KubeClient, ref: BindingRef, binding: Binding, subjects: Subject[]) {
  await kube.call('PUT', bindingPath(ref), {
    body: { ...binding, apiVersion: 'rbac.authorization.k8s.io/v1', kind: ref.kind, subjects },
  });
}
