import { DeleteAccessKeyCommand, GetAccessKeyLastUsedCommand } from '@aws-sdk/client-iam';
import type { Database } from '../../../src/db';
import { capture, capturedFor } from '../captures';
import type { ConnectorAction } from '../types';
import { awsOptional, notYet, type AwsClients } from './client';
import { listKeys, principalOf, requireExists, requireUser } from './principal';
import { rotatedKeyIds } from './rotate';

/** Which keys revoke deletes, fixed at the first attempt of the case's revoke. */
interface RevokeCapture {
  keys: string[];
}

const key = (identityId: string, caseId: string) => ({ provider: 'aws-iam', identityId, caseId, action: 'revoke' });

/**
 * True when none of the keys this case's revoke targets still exists; before any revoke in the
 * case, when the user has no key at all (an earlier case's list says nothing about keys now).
 */
export async function revoked(db: Database, clients: AwsClients, identityId: string, caseId: string): Promise<boolean> {
  const p = principalOf(identityId);
  requireUser(p, 'revoke');
  const kept = await capturedFor<RevokeCapture>(db, key(identityId, caseId));
  const existing = (await listKeys(clients, p)).map((k) => k.id);
  return kept ? !existing.some((id) => kept.keys.includes(id)) : existing.length === 0;
}

/**
 * Revoke: delete the compromised access keys (DeleteAccessKey, irreversible). Which keys: every
 * access key the user has at the first attempt of this case's revoke, except keys this case's
 * rotate issued (recorded in its captures). Keys an earlier case's rotate issued are not spared:
 * a rotated key can leak too. That includes keys isolate made Inactive: an inactive key of a
 * compromised identity can be reactivated by whoever holds iam rights, so it is invalidated too.
 * The set is captured once per case, so a retry (or another revoke of the same case) never
 * deletes a key issued afterwards, while a later case acts on the keys that exist then; a key
 * already gone (NoSuchEntity) counts as done.
 */
export const revokeAction = (db: Database, clients: AwsClients): ConnectorAction => ({
  name: 'revoke',
  description: "Delete the user's compromised access keys (irreversible)",
  permissions: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed', 'iam:DeleteAccessKey'],
  reversible: false,
  async run({ identityId, caseId }) {
    const p = principalOf(identityId);
    requireUser(p, 'revoke');
    await requireExists(clients, p);
    const ours = await rotatedKeyIds(db, identityId, caseId);
    const kept = await capture<RevokeCapture>(db, key(identityId, caseId), async () => ({
      keys: (await listKeys(clients, p)).map((k) => k.id).filter((id) => !ours.includes(id)),
    }));
    const deleted: { id: string; lastUsed?: string; lastService?: string }[] = [];
    for (const k of await listKeys(clients, p)) {
      if (!kept.keys.includes(k.id)) continue;
      // Evidence of the key's last use, kept in the audit trail with the deletion.
      const used = await awsOptional(`GetAccessKeyLastUsed ${k.id}`, () =>
        clients.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.id })),
      );
      const gone = await awsOptional(`DeleteAccessKey ${k.id} of ${p.label}`, () =>
        clients.iam.send(new DeleteAccessKeyCommand({ UserName: p.name, AccessKeyId: k.id })),
      );
      if (gone !== undefined) {
        deleted.push({
          id: k.id,
          lastUsed: used?.AccessKeyLastUsed?.LastUsedDate?.toISOString(),
          lastService: used?.AccessKeyLastUsed?.ServiceName,
        });
      }
    }
    if (!(await revoked(db, clients, identityId, caseId)))
      throw notYet(`access keys of ${p.label} are still listed after deletion`);
    return {
      changed: deleted.length > 0,
      detail: { keys: kept.keys, deleted, ...(deleted.length ? {} : { already: true }) },
    };
  },
});
