import type { Database } from '../../../src/db';
import { capture, capturedFor } from '../captures';
import type { ConnectorAction } from '../types';
import type { KubeClient } from './client';
import {
  accountOf,
  accountPath,
  accountsPath,
  findAccount,
  PROVIDER,
  readAccount,
  settle,
  type ServiceAccount,
} from './identity';

/** The account as revoke found it: what the new one is made of, and the uid its old tokens name. */
interface RevokeCapture {
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  automountServiceAccountToken?: boolean;
  secrets?: ServiceAccount['secrets'];
  imagePullSecrets?: ServiceAccount['imagePullSecrets'];
}

const keyOf = (identityId: string, caseId: string) => ({ provider: PROVIDER, identityId, caseId, action: 'revoke' });

/** Post-condition of revoke: the account exists again under another uid than the one this case revoked. */
export async function revoked(db: Database, kube: KubeClient, identityId: string, caseId: string): Promise<boolean> {
  const kept = await capturedFor<RevokeCapture>(db, keyOf(identityId, caseId));
  const account = await findAccount(kube, accountOf(identityId));
  return !!kept && !!account && account.metadata.uid !== kept.uid;
}

/**
 * Revoke: delete the ServiceAccount and make it again with the same labels, annotations,
 * automount setting, secrets and imagePullSecrets. Every bound token names the account's uid, so
 * the API server refuses them all once the new account (new uid) is there (after its token cache,
 * about 10 s); pods keep the account by name and get valid tokens at their next refresh. The
 * delete carries a uid precondition, so a retry never deletes the new account: an account whose
 * uid differs from the captured one is already revoked. Irreversible.
 */
export const revokeAction = (db: Database, kube: KubeClient): ConnectorAction => ({
  name: 'revoke',
  description:
    'Delete the ServiceAccount and recreate it with the same metadata: every token bound to the old uid stops authenticating (irreversible)',
  permissions: ['serviceaccounts: get, delete, create'],
  reversible: false,
  async run({ identityId, caseId }) {
    const sa = accountOf(identityId);
    const kept = await capture<RevokeCapture>(db, keyOf(identityId, caseId), async () => {
      const { metadata, automountServiceAccountToken, secrets, imagePullSecrets } = await readAccount(kube, sa);
      const { uid, labels, annotations } = metadata;
      return { uid: uid!, labels, annotations, automountServiceAccountToken, secrets, imagePullSecrets };
    });
    const current = await findAccount(kube, sa);
    if (current && current.metadata.uid !== kept.uid)
      return { changed: false, detail: { already: true, revokedUid: kept.uid, uid: current.metadata.uid } };
    if (current) {
      // 409: the uid precondition failed (the account was replaced meanwhile); 404: gone already.
      await kube.call('DELETE', accountPath(sa), { body: { preconditions: { uid: kept.uid } }, allow: [404, 409] });
    }
    const { uid: _, labels, annotations, ...spec } = kept;
    // 409: the old account still has finalizers to run (retried), or someone made it again (done).
    await kube.call('POST', accountsPath(sa.namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: sa.name, namespace: sa.namespace, labels, annotations },
        ...spec,
      },
      allow: [409],
    });
    await settle(() => revoked(db, kube, identityId, caseId), `the revocation of ${identityId}`);
    const now = await readAccount(kube, sa);
    return { changed: true, detail: { revokedUid: kept.uid, uid: now.metadata.uid } };
  },
});
