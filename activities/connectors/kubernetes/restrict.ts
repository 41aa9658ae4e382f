import type { Database } from '../../../src/db';
import { canonicalJson } from '../../../src/digest';
import { capture, capturesStartingWith, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import { stillGranted } from './access';
import {
  bindingKey,
  bindingPath,
  bindingsOf,
  putSubjects,
  sharedBindingsOf,
  type Binding,
  type BindingRef,
  type RoleRef,
  type Subject,
} from './bindings';
import type { KubeClient } from './client';
import { accountOf, PROVIDER, READ_ACCOUNT, readAccount, settle, type AccountRef } from './identity';

/** What restrict keeps of one binding before taking the account out of it (no secret in it). */
export interface BindingCapture {
  ref: BindingRef;
  /** The binding restrict changed: a binding of the same name made since is another one. */
  uid: string;
  roleRef: RoleRef;
  /** The account's entries, exactly as they were, and where they stood in the subject list. */
  removed: { index: number; subject: Subject }[];
}

const ACTION = 'restrict:';
const keyOf = (identityId: string, caseId: string, ref: BindingRef) => ({
  provider: PROVIDER,
  identityId,
  caseId,
  action: `${ACTION}${bindingKey(ref)}`,
});
const capturesOf = (db: Database, identityId: string, caseId: string) =>
  capturesStartingWith<BindingCapture>(db, { provider: PROVIDER, identityId, caseId }, ACTION);

/**
 * The restriction holds: no binding names the account, and nothing the bindings this case took it
 * out of granted is still allowed to it beyond what every account of its namespace may do.
 */
async function holds(kube: KubeClient, sa: AccountRef, captured: BindingCapture[]): Promise<boolean> {
  if ((await bindingsOf(kube, sa)).length > 0) return false;
  return (await stillGranted(kube, sa, captured)).length === 0;
}

/** Post-condition of restrict, for this case's captures (without any: no binding names the account). */
export async function restricted(db: Database, kube: KubeClient, identityId: string, caseId: string) {
  const sa = accountOf(identityId);
  await readAccount(kube, sa);
  return holds(kube, sa, await capturesOf(db, identityId, caseId));
}

/** Puts the account's entries back where they stood; a binding deleted or replaced since is reported, not remade. */
async function restoreBinding(kube: KubeClient, kept: BindingCapture): Promise<'restored' | 'already' | string> {
  const binding = await kube.find<Binding>(bindingPath(kept.ref));
  if (!binding) return 'deleted since restrict';
  if (binding.metadata.uid !== kept.uid) return 'replaced since restrict by another binding of that name';
  const subjects = [...(binding.subjects ?? [])];
  let added = 0;
  for (const { index, subject } of kept.removed) {
    if (subjects.some((s) => canonicalJson(s) === canonicalJson(subject))) continue;
    subjects.splice(Math.min(index, subjects.length), 0, subject);
    added += 1;
  }
  if (added) await putSubjects(kube, kept.ref, binding, subjects);
  return added ? 'restored' : 'already';
}

/**
 * Restrict: take the account out of the subject list of every RoleBinding and ClusterRoleBinding
 * that names it (ServiceAccount subjects, and User subjects with its user name). The bindings
 * stay, possibly with no subject left, so the undo puts the entries back into the same objects
 * at the same positions. Each binding is captured just before it changes; a repeat in the case
 * also covers bindings that name the account since. Group grants shared with other accounts
 * (`system:serviceaccounts[:<namespace>]`) are left alone and reported.
 *
 * A binding deleted or replaced (another uid) before the undo is reported, not recreated: its
 * removal was someone's decision during the incident, and a rollback that does not find the
 * identity as it was says so (the case then needs attention).
 */
export const restrictAction = (db: Database, kube: KubeClient): ConnectorAction => ({
  name: 'restrict',
  description:
    'Take the service account out of every RoleBinding and ClusterRoleBinding subject list (bindings kept, so undo puts the entries back)',
  permissions: [
    READ_ACCOUNT,
    'rolebindings.rbac.authorization.k8s.io: list, get, update',
    'clusterrolebindings.rbac.authorization.k8s.io: list, get, update',
    'roles.rbac.authorization.k8s.io: get, bind',
    'clusterroles.rbac.authorization.k8s.io: get, bind',
    'subjectaccessreviews.authorization.k8s.io: create',
  ],
  reversible: true,
  async run({ identityId, caseId }) {
    const sa = accountOf(identityId);
    await readAccount(kube, sa);
    const changed: string[] = [];
    for (const { ref, binding, entries } of await bindingsOf(kube, sa)) {
      await capture<BindingCapture>(db, keyOf(identityId, caseId, ref), async () => ({
        ref,
        uid: binding.metadata.uid!,
        roleRef: binding.roleRef,
        removed: entries,
      }));
      const left = (binding.subjects ?? []).filter((_, i) => !entries.some((e) => e.index === i));
      await putSubjects(kube, ref, binding, left);
      changed.push(bindingKey(ref));
    }
    const captured = await capturesOf(db, identityId, caseId);
    // The RBAC authorizer reads bindings from a cache: wait (briefly) until it has caught up.
    await settle(() => holds(kube, sa, captured), `the restriction of ${identityId}`);
    const shared = await sharedBindingsOf(kube, sa);
    return {
      changed: changed.length > 0,
      detail: {
        bindings: changed,
        ...(shared.length ? { sharedGroupBindings: shared.map((s) => s.binding) } : {}),
        ...(changed.length ? {} : { already: true }),
      },
    };
  },
  async undo({ identityId, caseId }) {
    accountOf(identityId);
    const captured = await capturesOf(db, identityId, caseId);
    if (!captured.length)
      return {
        changed: false,
        detail: { already: true, reason: 'nothing captured: restrict never took effect in this case' },
      };
    const restored: string[] = [];
    const notRestored: { binding: string; reason: string }[] = [];
    for (const kept of captured) {
      const outcome = await restoreBinding(kube, kept);
      if (outcome === 'restored') restored.push(bindingKey(kept.ref));
      else if (outcome !== 'already') notRestored.push({ binding: bindingKey(kept.ref), reason: outcome });
      await releaseCapture(db, keyOf(identityId, caseId, kept.ref));
    }
    return {
      changed: restored.length > 0,
      detail: {
        restored,
        ...(notRestored.length ? { notRestored } : {}),
        ...(restored.length ? {} : { already: true }),
      },
    };
  },
});
