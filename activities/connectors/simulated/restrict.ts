import type { Database } from '../../../src/db';
import type { ConnectorAction } from '../types';
import { applyOnce } from './state';

/** Restrict: drop the identity to read-only privileges. Undo restores them. */
export function restrictAction(db: Database): ConnectorAction {
  return {
    name: 'restrict',
    description: 'Reduce the simulated identity to read-only privileges',
    permissions: ['simulated:write'],
    reversible: true,
    async run({ identityId, idempotencyKey }) {
      const { applied, state } = await applyOnce(db, idempotencyKey, identityId, 'restrict', (s) => ({
        ...s,
        restricted: true,
      }));
      return { changed: applied, detail: { restricted: state.restricted } };
    },
    async undo({ identityId, idempotencyKey }) {
      const { applied, state } = await applyOnce(db, idempotencyKey, identityId, 'undo:restrict', (s) => ({
        ...s,
        restricted: false,
      }));
      return { changed: applied, detail: { restricted: state.restricted } };
    },
  };
}
