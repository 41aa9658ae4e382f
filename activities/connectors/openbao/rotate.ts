import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import { capture, capturesStartingWith } from '../captures';
import type { ConnectorAction } from '../types';
import { BaoClient, OpenBaoFailure, seg } from './client';
import { APPROLE_MOUNT, issuedInCase, readRole, ROTATION_MARK, secretIdsOf, type Role, READ_ROLE } from './identity';

/** Where the rotated credential of a role is delivered, relative to the KV v2 mount. */
export const rotationPath = (role: string) => `cordon/${role}`;

interface RotationRecord {
  role_id: string;
  secret_id: string;
  secret_id_accessor: string;
  rotation: string;
  issued_at: string;
}

async function currentVersion(bao: BaoClient, role: string): Promise<number> {
  const res = await bao.call(
    'GET',
    `${bao.kvMount}/metadata/${rotationPath(role).split('/').map(seg).join('/')}`,
    undefined,
    [404],
  );
  return res.status === 404 ? 0 : Number(res.body.data.current_version ?? 0);
}

async function readVersion(
  bao: BaoClient,
  role: string,
  version?: number,
): Promise<{ version: number; data: Partial<RotationRecord> } | undefined> {
  const query = version ? `?version=${version}` : '';
  const res = await bao.call(
    'GET',
    `${bao.kvMount}/data/${rotationPath(role).split('/').map(seg).join('/')}${query}`,
    undefined,
    [404],
  );
  if (res.status === 404 || !res.body?.data?.data) return undefined;
  return { version: res.body.data.metadata.version, data: res.body.data.data };
}

export const destroySecretId = (bao: BaoClient, role: Role, accessor: string) =>
  bao.call(
    'POST',
    `auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id-accessor/destroy`,
    { secret_id_accessor: accessor },
    [400, 404],
  );

/** What a rotation keeps before its first attempt; its action key is `rotate:<rotation>`. */
interface RotateCapture {
  baseVersion: number;
  rotation: string;
}

/** Rotation ids of this case's rotations (their secret-ids carry one as ROTATION_MARK). */
export async function caseRotations(db: Database, identityId: string, caseId: string): Promise<Set<string>> {
  const captures = await capturesStartingWith<Partial<RotateCapture>>(
    db,
    { provider: 'openbao', identityId, caseId },
    'rotate:',
  );
  return new Set(captures.map((c) => c.rotation).filter((r): r is string => typeof r === 'string'));
}

/**
 * Destroys every secret-id of the role that this case's rotations did not issue: the ones the
 * workload had (possibly compromised), and those an earlier case's rotation delivered.
 */
async function destroyOthers(db: Database, bao: BaoClient, role: Role, caseId: string): Promise<string[]> {
  const rotations = await caseRotations(db, role.name, caseId);
  const others = (await secretIdsOf(bao, role)).filter((s) => !issuedInCase(s, rotations));
  for (const { accessor } of others) await destroySecretId(bao, role, accessor);
  return others.map((s) => fingerprint(s.accessor));
}

/**
 * Rotate: issue a new AppRole secret-id and write it (with the role_id) as a new KV v2 version at
 * `<kvMount>/data/cordon/<role>`, check-and-set against the version seen before the first attempt;
 * once the write holds, destroy the role's other secret-ids (all but this case's rotations'), so
 * the old credential stops working, as AWS and Postgres rotate disable theirs. Only the version
 * and fingerprints come back; the secret-id exists only in OpenBao.
 */
export const rotateAction = (db: Database, bao: BaoClient): ConnectorAction => ({
  name: 'rotate',
  description:
    "Issue a new AppRole secret-id for the role into KV v2 (check-and-set) and destroy the role's other secret-ids; only fingerprints are returned",
  permissions: [
    ...READ_ROLE,
    'auth/approle/role/+/secret-id (list, update)',
    'auth/approle/role/+/secret-id-accessor/lookup (update)',
    'auth/approle/role/+/secret-id-accessor/destroy (update)',
    '<kvMount>/data/cordon/* (create, update, read)',
    '<kvMount>/metadata/cordon/* (read)',
  ],
  reversible: false,
  async run({ identityId, idempotencyKey, caseId }) {
    const role = await readRole(bao, identityId);
    const rotation = fingerprint(idempotencyKey);
    const path = `${bao.kvMount}/data/${rotationPath(role.name)}`;
    // The version before this rotation's first attempt: a retry checks-and-sets against it too.
    const { baseVersion } = await capture<RotateCapture>(
      db,
      { provider: 'openbao', identityId, action: `rotate:${rotation}`, caseId },
      async () => ({
        baseVersion: await currentVersion(bao, role.name),
        rotation,
      }),
    );

    const existing =
      (await currentVersion(bao, role.name)) > baseVersion
        ? await readVersion(bao, role.name, baseVersion + 1)
        : undefined;
    if (existing) {
      if (existing.data.rotation !== rotation || !existing.data.secret_id) {
        throw ApplicationFailure.create({
          type: OpenBaoFailure.Conflict,
          message: `${path} was written by someone else (version ${baseVersion + 1}) during this rotation`,
          nonRetryable: true,
        });
      }
      // A retry after the write: finish destroying the old secret-ids.
      const destroyed = await destroyOthers(db, bao, role, caseId);
      return {
        changed: destroyed.length > 0,
        detail: {
          ...(destroyed.length ? {} : { already: true }),
          path,
          version: existing.version,
          secretFingerprint: fingerprint(existing.data.secret_id),
          secretIdAccessor: fingerprint(existing.data.secret_id_accessor ?? ''),
          secretIdsDestroyed: destroyed,
        },
      };
    }

    // A secret-id minted by an earlier attempt that crashed before the KV write is unreachable: destroy it.
    for (const orphan of (await secretIdsOf(bao, role)).filter((s) => s.metadata[ROTATION_MARK] === rotation)) {
      await destroySecretId(bao, role, orphan.accessor);
    }
    const minted = await bao.post(`auth/${APPROLE_MOUNT}/role/${seg(role.name)}/secret-id`, {
      metadata: JSON.stringify({ [ROTATION_MARK]: rotation }),
    });
    const secretId: string = minted.data.secret_id;
    const accessor: string = minted.data.secret_id_accessor;
    const record: RotationRecord = {
      role_id: role.roleId,
      secret_id: secretId,
      secret_id_accessor: accessor,
      rotation,
      issued_at: new Date().toISOString(),
    };
    const written = await bao.call('POST', path, { options: { cas: baseVersion }, data: record }, [400]);
    if (written.status === 400) {
      await destroySecretId(bao, role, accessor);
      const errors = String(written.body?.errors ?? '');
      if (!/check-and-set/i.test(errors)) {
        throw ApplicationFailure.create({
          type: OpenBaoFailure.Rejected,
          message: `OpenBao refused the write to ${path}: ${errors}`,
          nonRetryable: true,
        });
      }
      throw ApplicationFailure.create({
        type: OpenBaoFailure.Conflict,
        message: `${path} changed since version ${baseVersion} (check-and-set refused); the new secret-id was destroyed`,
        nonRetryable: true,
      });
    }
    const check = await readVersion(bao, role.name, baseVersion + 1);
    if (check?.data.rotation !== rotation)
      throw new Error(`${path} version ${baseVersion + 1} does not hold this rotation`);
    // Only now that the new secret-id is delivered do the old ones go.
    const destroyed = await destroyOthers(db, bao, role, caseId);
    return {
      changed: true,
      detail: {
        path,
        version: baseVersion + 1,
        secretFingerprint: fingerprint(secretId),
        secretIdAccessor: fingerprint(accessor),
        secretIdsDestroyed: destroyed,
      },
    };
  },
});

/**
 * Post-condition of rotate: the latest KV version holds a secret-id this case's rotation issued
 * that is still live, and the role has no secret-id but this case's rotations'.
 */
export async function rotated(db: Database, bao: BaoClient, identityId: string, caseId: string): Promise<boolean> {
  const role = await readRole(bao, identityId);
  const latest = await readVersion(bao, role.name);
  const rotations = await caseRotations(db, identityId, caseId);
  if (!latest?.data.rotation || !rotations.has(latest.data.rotation) || !latest.data.secret_id_accessor) return false;
  const ids = await secretIdsOf(bao, role);
  return ids.some((s) => s.accessor === latest.data.secret_id_accessor) && ids.every((s) => issuedInCase(s, rotations));
}
