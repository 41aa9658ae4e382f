import type { Database } from '../../../src/db';
import { reversibleAction } from './toggle';

/** Restrict: drop the identity to read-only privileges. Undo restores them. */
export const restrictAction = (db: Database) =>
  reversibleAction(db, {
    name: 'restrict',
    description: 'Reduce the simulated identity to read-only privileges',
    on: (s) => ({ ...s, restricted: true }),
    off: (s) => ({ ...s, restricted: false }),
    show: (s) => ({ restricted: s.restricted }),
  });
