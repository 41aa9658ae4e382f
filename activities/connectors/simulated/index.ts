import type { Database } from '../../../src/db';
import type { Connector } from '../types';
import { restrictAction } from './restrict';
import { readState } from './state';

/** The `simulated` identity system: real state in the Cordon database, no external calls. */
export function createSimulatedConnector(db: Database): Connector {
  return {
    name: 'simulated',
    description: 'An identity system simulated in the audit database, for dry runs and tests',
    actions: { restrict: restrictAction(db) },
    snapshot: async (identityId) => ({ ...(await readState(db, identityId)) }),
    async verify(identityId, action) {
      const state = await readState(db, identityId);
      if (action === 'restrict') return state.restricted;
      return false;
    },
  };
}
