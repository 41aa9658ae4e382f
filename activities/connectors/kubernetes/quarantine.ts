import { ApplicationFailure } from '@temporalio/activity';
import { digestOf } from '../../../src/digest';
import { KubeFailure, type KubeClient } from './client';
import { derivedName, secretPath, secretsPath, type ObjectMeta, type Secret } from './identity';

// The quarantine copy of a token Secret: an Opaque Secret (so it authenticates nothing: the API
// server finds a legacy token by its own Secret's name), holding the original's data, with the
// original's name, type, labels and annotations in one annotation so the undo can remake it.
const ORIGINAL = 'cordon.io/quarantined-secret';
const CASE = 'cordon.io/case';

/** The original Secret's description, as kept on its quarantine copy (no data). */
interface Original {
  name: string;
  type?: string;
  immutable?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The name of a token Secret's quarantine copy. */
export const quarantineName = (secret: string) => derivedName('cordon-quarantine-', secret);

/** The original a quarantine copy stands for; undefined when the Secret is not such a copy. */
function originalOf(copy: Secret | undefined): Original | undefined {
  try {
    return copy?.type === 'Opaque' ? (JSON.parse(copy.metadata.annotations?.[ORIGINAL] ?? '') as Original) : undefined;
  } catch {
    return undefined;
  }
}

function copyOf(secret: Secret, caseId: string, resourceVersion?: string): Secret {
  const { name, namespace, labels, annotations } = secret.metadata;
  const original: Original = { name, type: secret.type, immutable: secret.immutable, labels, annotations };
  const metadata: ObjectMeta = {
    name: quarantineName(name),
    namespace,
    labels: { 'cordon.io/quarantine': 'true' },
    annotations: { [ORIGINAL]: JSON.stringify(original), [CASE]: caseId },
    ...(resourceVersion ? { resourceVersion } : {}),
  };
  return { metadata, type: 'Opaque', data: secret.data };
}

/**
 * Moves a token Secret into quarantine: its copy is written first (or an earlier attempt's copy
 * brought up to date), then the original is deleted with a uid precondition, so a Secret made
 * under that name meanwhile is never deleted uncopied (its 409 is retried and copied then).
 */
export async function quarantine(kube: KubeClient, secret: Secret, caseId: string): Promise<string> {
  const namespace = secret.metadata.namespace!;
  const copy = copyOf(secret, caseId);
  const made = await kube.call('POST', secretsPath(namespace), { body: copy, allow: [409] });
  if (made.status === 409) {
    const existing = await kube.find<Secret>(secretPath(namespace, copy.metadata.name));
    if (originalOf(existing)?.name !== secret.metadata.name) {
      throw ApplicationFailure.create({
        type: KubeFailure.Rejected,
        message: `kubernetes: a Secret "${copy.metadata.name}" in ${namespace} is in the way of the quarantine copy of "${secret.metadata.name}" and is not Cordon's copy of it`,
        nonRetryable: true,
      });
    }
    if (digestOf(existing!.data ?? {}) !== digestOf(secret.data ?? {}))
      await kube.call('PUT', secretPath(namespace, copy.metadata.name), {
        body: copyOf(secret, caseId, existing!.metadata.resourceVersion),
      });
  }
  await kube.call('DELETE', secretPath(namespace, secret.metadata.name), {
    body: { preconditions: { uid: secret.metadata.uid } },
    allow: [404],
  });
  return copy.metadata.name;
}

/**
 * Brings a quarantined Secret back: the original is made again from its copy (same name, type,
 * labels, annotations and data), then the copy is deleted. When the original is still there
 * (isolate never deleted it) only a leftover copy goes. A copy that is gone is reported.
 */
export async function release(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<'restored' | 'already' | string> {
  const [original, copy] = await Promise.all([
    kube.find<Secret>(secretPath(namespace, name)),
    kube.find<Secret>(secretPath(namespace, quarantineName(name))),
  ]);
  const kept = originalOf(copy);
  const ours = kept?.name === name;
  if (!original) {
    if (!ours) return 'its quarantine copy is gone';
    const { type, immutable, labels, annotations } = kept;
    // A 409 (someone made a Secret of that name meanwhile) is retried; the retry finds it there.
    await kube.call('POST', secretsPath(namespace), {
      body: { metadata: { name, namespace, labels, annotations }, type, immutable, data: copy!.data },
    });
  }
  if (ours) await kube.call('DELETE', secretPath(namespace, quarantineName(name)), { allow: [404] });
  return original ? 'already' : 'restored';
}
