import type { Database } from '../../src/db';
import { createSimulatedConnector } from './simulated';
import type { Connector } from './types';

/** What connector factories receive. */
export interface ConnectorDeps {
  db: Database;
}

/** The one list of identity systems Cordon can act on. Adding one = one line here. */
export const CONNECTOR_FACTORIES: Record<string, (deps: ConnectorDeps) => Connector> = {
  simulated: ({ db }) => createSimulatedConnector(db),
};

/** Instantiates every registered connector, keyed by provider name. */
export function createConnectors(deps: ConnectorDeps): Map<string, Connector> {
  return new Map(Object.entries(CONNECTOR_FACTORIES).map(([name, make]) => [name, make(deps)]));
}
