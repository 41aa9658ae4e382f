import { randomBytes } from 'node:crypto';
import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import type { ConnectorAction } from '../types';
import { applyOnce } from './state';

/**
 * Rotate: issue a new credential version and deliver it to the (simulated) secret store.
 * Only its fingerprint leaves this function. Irreversible: the old secret is gone.
 */
export const rotateAction = (db: Database): ConnectorAction => ({
  name: 'rotate',
  description: 'Issue a new simulated credential into the secret store',
  permissions: ['simulated:admin', 'secret-store:write'],
  reversible: false,
  async run({ identityId, idempotencyKey }) {
    const { applied, state } = await applyOnce(db, idempotencyKey, identityId, 'rotate', (s) => ({
      ...s,
      credentialVersion: s.credentialVersion + 1,
    }));
    // Delivered until the store holds this version: a retry after a crash between the two
    // writes issues it again instead of reporting the old secret.
    const { rows: stored } = await db.query<{ version: number }>(
      'SELECT version FROM simulated_secret_store WHERE identity_id = $1',
      [identityId],
    );
    if ((stored[0]?.version ?? 0) < state.credentialVersion) {
      await db.query(
        `INSERT INTO simulated_secret_store (identity_id, secret, version) VALUES ($1, $2, $3)
         ON CONFLICT (identity_id) DO UPDATE SET secret = EXCLUDED.secret, version = EXCLUDED.version`,
        [identityId, randomBytes(24).toString('base64url'), state.credentialVersion],
      );
    }
    const { rows } = await db.query<{ secret: string }>(
      'SELECT secret FROM simulated_secret_store WHERE identity_id = $1',
      [identityId],
    );
    return {
      changed: applied,
      detail: {
        credentialVersion: state.credentialVersion,
        secretFingerprint: rows[0] ? fingerprint(rows[0].secret) : undefined,
      },
    };
  },
});
