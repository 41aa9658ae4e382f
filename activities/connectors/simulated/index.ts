import type { Database } from '../../../src/db';
import type { ActionName, Connector } from '../types';
import { isolateAction } from './isolate';
import { restrictAction } from './restrict';
import { revokeAction } from './revoke';
import { rotateAction } from './rotate';
import { failIfFaulted, faulted, readState, type SimulatedState } from './state';
import { withTransientFaults, type TransientFaults } from './transientFaults';

const POST_CONDITIONS: Record<ActionName, (s: SimulatedState) => boolean> = {
  restrict: (s) => s.restricted,
  isolate: (s) => s.status !== 'active',
  revoke: (s) => s.status === 'revoked',
  rotate: (s) => s.credentialVersion > 1,
};

/**
 * The `simulated` identity system: real state in the Cordon database, no external calls. With
 * `faults`, it fails transiently and slowly on purpose (CORDON_SIMULATED_FAULT_RATE, _LATENCY_MS).
 */
export function createSimulatedConnector(db: Database, faults?: TransientFaults): Connector {
  return withTransientFaults(
    {
      name: 'simulated',
      description: 'An identity system simulated in the audit database, for dry runs and tests',
      actions: {
        restrict: restrictAction(db),
        isolate: isolateAction(db),
        revoke: revokeAction(db),
        rotate: rotateAction(db),
      },
      async snapshot(identityId) {
        await failIfFaulted(db, identityId, 'snapshot');
        return { ...(await readState(db, identityId)) };
      },
      verify: async (identityId, action) =>
        !(await faulted(db, identityId, `verify:${action}`)) &&
        POST_CONDITIONS[action](await readState(db, identityId)),
    },
    faults,
  );
}
