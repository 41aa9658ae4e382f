import type { Database } from '../../../src/db';
import { reversibleAction } from './toggle';

/** Isolate: disable the identity and cut its sessions. Undo re-enables it (unless revoked). */
export const isolateAction = (db: Database) =>
  reversibleAction(db, {
    name: 'isolate',
    description: 'Disable the simulated identity and end its sessions',
    on: (s) => (s.status === 'revoked' ? s : { ...s, status: 'disabled' }),
    off: (s) => (s.status === 'disabled' ? { ...s, status: 'active' } : s),
    show: (s) => ({ status: s.status }),
  });
