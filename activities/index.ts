import type { Client } from '@temporalio/client';
import type { Database } from '../src/db';
import type { Logger } from '../src/log';
import { createAuditActivities } from './audit';
import { createBudgetActivities } from './budget';
import { createConnectors } from './connectors/registry';
import type { ConnectorSettings } from './connectors/types';
import { createContextActivities } from './context';
import { createGovernorActivities } from './governor';
import { createIdentityActivities } from './identity';
import { createNotifyActivities } from './notify';
import { createShadowActivities } from './shadow';

export type { IdentityTarget } from './identity';
export { IdentityFailure } from './identity';

/** What activities need from the process: clients, stores and file locations. */
export interface ActivityDeps {
  db: Database;
  client: Client;
  taskQueue: string;
  namespace: string;
  policyFile: string;
  inventoryFile: string;
  uiUrl: string;
  notifyWebhookUrl?: string;
  logger: Logger;
  /** Identity systems beyond the simulated one; absent ones are not registered. */
  connectors?: ConnectorSettings;
}

/** Every activity the worker registers. Workflows import this type only. */
export function createActivities(deps: ActivityDeps) {
  const governor = createGovernorActivities(deps.client, deps.taskQueue, deps.logger);
  return {
    ...createIdentityActivities(createConnectors({ db: deps.db, settings: deps.connectors ?? {} })),
    ...createContextActivities(deps),
    ...createAuditActivities(deps.db),
    ...createNotifyActivities({ ...deps, webhookUrl: deps.notifyWebhookUrl }),
    ...governor,
    ...createBudgetActivities(deps.db, deps.client, deps.logger, governor.readKillSwitch),
    ...createShadowActivities(deps.client, deps.taskQueue),
  };
}

/** The activity functions, as workflows see them through `proxyActivities`. */
export type Activities = ReturnType<typeof createActivities>;
