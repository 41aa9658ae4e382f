// The connectors a worker serves: the registry's configured ones. The intake reads the same list
// to warn about alerts no connector can act on.
import { UNRESOLVED_PROVIDER } from '../src/domain/unresolved';
import { createConnectors, type ConnectorDeps } from './connectors/registry';
import type { Connector } from './connectors/types';

/** Every configured connector by provider; refuses one named `unresolved`, which must never act. */
export function servedConnectors(deps: ConnectorDeps): Map<string, Connector> {
  const connectors = createConnectors(deps);
  if (connectors.has(UNRESOLVED_PROVIDER))
    throw new Error(
      `no connector may serve provider "${UNRESOLVED_PROVIDER}": it names principals no identity system is known for`,
    );
  return connectors;
}

/** The providers a worker with these settings acts on (factories never connect, so this is cheap). */
export const servedProviders = (deps: ConnectorDeps): string[] => [...servedConnectors(deps).keys()];
