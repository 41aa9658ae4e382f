import type { Database } from '../../../src/db';
import type { ConnectorAction } from '../types';
import { applyOnce } from './state';

/** Revoke: invalidate the credential for good. Irreversible: there is no undo. */
export const revokeAction = (db: Database): ConnectorAction => ({
  name: 'revoke',
  description: 'Invalidate the simulated credential permanently',
  permissions: ['simulated:admin'],
  reversible: false,
  async run({ identityId, idempotencyKey }) {
    const { applied, state } = await applyOnce(db, idempotencyKey, identityId, 'revoke', (s) => ({
      ...s,
      status: 'revoked',
    }));
    return { changed: applied, detail: { status: state.status } };
  },
});
