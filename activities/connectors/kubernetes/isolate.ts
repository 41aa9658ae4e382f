import type { Database } from '../../../src/db';
import { capture, capturedFor, capturesStartingWith, releaseCapture } from '../captures';
import type { ConnectorAction } from '../types';
import type { KubeClient } from './client';
import { accountOf, accountPath, PROVIDER, readAccount, tokenSecretsOf, type AccountRef } from './identity';
import { quarantine, quarantineName, release } from './quarantine';

/** The automount setting before isolation: true, false, or absent (null; then the default applies). */
interface AutomountCapture {
  automount: boolean | null;
}

/** One token Secret isolate moved into quarantine (its name; the values stay in the cluster). */
interface SecretCapture {
  name: string;
  quarantine: string;
}

const SECRETS = 'isolate-secret:';
const automountKey = (identityId: string, caseId: string) => ({
  provider: PROVIDER,
  identityId,
  caseId,
  action: 'isolate',
});
const secretKey = (identityId: string, caseId: string, name: string) => ({
  provider: PROVIDER,
  identityId,
  caseId,
  action: `${SECRETS}${name}`,
});

/** Sets (true/false) or removes (null) the account's automountServiceAccountToken. */
const setAutomount = (kube: KubeClient, sa: AccountRef, value: boolean | null) =>
  kube.call('PATCH', accountPath(sa), { body: { automountServiceAccountToken: value }, mergePatch: true });

/** Post-condition of isolate: no token is mounted by default, and the account has no long-lived token Secret. */
export async function isolated(kube: KubeClient, identityId: string): Promise<boolean> {
  const sa = accountOf(identityId);
  const account = await readAccount(kube, sa);
  return account.automountServiceAccountToken === false && (await tokenSecretsOf(kube, sa)).length === 0;
}

/**
 * Isolate: stop token automount (`automountServiceAccountToken: false`: new pods get no token
 * unless their own spec asks for one) and move every long-lived token Secret of the account into
 * an Opaque quarantine copy in its namespace, deleting the original (the API server then refuses
 * its token). Cordon's captures hold only names: the values stay in the cluster. Bound tokens
 * already issued keep working until they expire; revoke ends them. Undo remakes each Secret from
 * its copy and puts the automount setting back as captured (including absent).
 */
export const isolateAction = (db: Database, kube: KubeClient): ConnectorAction => ({
  name: 'isolate',
  description:
    "Stop the service account's token automount and move its long-lived token Secrets into Opaque quarantine copies (undo restores them)",
  permissions: ['serviceaccounts: get, patch', 'secrets: list, get, create, update, delete'],
  reversible: true,
  async run({ identityId, caseId }) {
    const sa = accountOf(identityId);
    const account = await readAccount(kube, sa);
    const before = await capture<AutomountCapture>(db, automountKey(identityId, caseId), async () => ({
      automount: account.automountServiceAccountToken ?? null,
    }));
    const automountChanged = account.automountServiceAccountToken !== false;
    if (automountChanged) await setAutomount(kube, sa, false);
    const quarantined: { secret: string; quarantine: string }[] = [];
    for (const secret of await tokenSecretsOf(kube, sa)) {
      const { name } = secret.metadata;
      await capture<SecretCapture>(db, secretKey(identityId, caseId, name), async () => ({
        name,
        quarantine: quarantineName(name),
      }));
      quarantined.push({ secret: name, quarantine: await quarantine(kube, secret, caseId) });
    }
    if (!(await isolated(kube, identityId)))
      throw new Error(`kubernetes: ${identityId} is not isolated after isolating it`);
    const changed = automountChanged || quarantined.length > 0;
    return {
      changed,
      detail: {
        automountServiceAccountToken: false,
        automountBefore: before.automount,
        quarantined,
        ...(changed ? {} : { already: true }),
      },
    };
  },
  async undo({ identityId, caseId }) {
    const sa = accountOf(identityId);
    const before = await capturedFor<AutomountCapture>(db, automountKey(identityId, caseId));
    const secrets = await capturesStartingWith<SecretCapture>(db, { provider: PROVIDER, identityId, caseId }, SECRETS);
    if (!before && !secrets.length)
      return {
        changed: false,
        detail: { already: true, reason: 'nothing captured: isolate never took effect in this case' },
      };
    const restored: string[] = [];
    const notRestored: { secret: string; reason: string }[] = [];
    for (const { name } of secrets) {
      const outcome = await release(kube, sa.namespace, name);
      if (outcome === 'restored') restored.push(name);
      else if (outcome !== 'already') notRestored.push({ secret: name, reason: outcome });
      await releaseCapture(db, secretKey(identityId, caseId, name));
    }
    let automountChanged = false;
    if (before) {
      const account = await readAccount(kube, sa);
      automountChanged = (account.automountServiceAccountToken ?? null) !== before.automount;
      if (automountChanged) await setAutomount(kube, sa, before.automount);
      await releaseCapture(db, automountKey(identityId, caseId));
    }
    const changed = automountChanged || restored.length > 0;
    return {
      changed,
      detail: {
        automountServiceAccountToken: before?.automount ?? null,
        restored,
        ...(notRestored.length ? { notRestored } : {}),
        ...(changed ? {} : { already: true }),
      },
    };
  },
});
