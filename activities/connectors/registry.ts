import type { Database } from '../../src/db';
import { createAwsIamConnector } from './aws-iam';
import { createKubernetesConnector } from './kubernetes';
import { createGitHubConnector } from './github';
import { createOpenBaoConnector } from './openbao';
import { createPostgresConnector } from './postgres';
import { createSimulatedConnector } from './simulated';
import type { Connector, ConnectorSettings } from './types';

/** What connector factories receive. Factories must not connect: clients connect on first use. */
export interface ConnectorDeps {
  db: Database;
  settings: ConnectorSettings;
}

/**
 * The one list of identity systems Cordon can act on. Adding one = one line here. A factory
 * answers undefined when its system is not configured.
 */
export const CONNECTOR_FACTORIES: Record<string, (deps: ConnectorDeps) => Connector | undefined> = {
  simulated: ({ db, settings }) => createSimulatedConnector(db, settings.simulated),
  'aws-iam': createAwsIamConnector,
  openbao: ({ db, settings }) => (settings.openbao ? createOpenBaoConnector(db, settings.openbao) : undefined),
  postgres: ({ db, settings }) => (settings.postgres ? createPostgresConnector(db, settings.postgres) : undefined),
  kubernetes: ({ db, settings }) =>
    settings.kubernetes ? createKubernetesConnector(db, settings.kubernetes) : undefined,
  github: ({ db, settings }) => (settings.github ? createGitHubConnector(db, settings.github) : undefined),
};

/** Instantiates every configured connector, keyed by provider name. */
export function createConnectors(deps: ConnectorDeps): Map<string, Connector> {
  const made = Object.entries(CONNECTOR_FACTORIES).map(([name, make]) => [name, make(deps)] as const);
  const connectors = new Map(made.filter((entry): entry is [string, Connector] => entry[1] !== undefined));
  const simulated = connectors.get('simulated');
  for (const provider of deps.settings.simulatedStandIns ?? []) if (simulated) connectors.set(provider, simulated);
  return connectors;
}
