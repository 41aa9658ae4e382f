import type { Client } from '@temporalio/client';
import type { AuditNotary } from '../src/audit/checkpoints';
import type { Database } from '../src/db';
import type { Logger } from '../src/log';
import { createCaseSteps } from './caseSteps';
import { createDecisionActivities } from './decisions';
import type { ConnectorSettings } from './connectors/types';
import { noticeSender } from './notifications';
import { servedConnectors } from './servedConnectors';
import { createShadowActivities } from './shadow';
import { trustedConfig } from './trustedConfig';

/** What activities need from the process: clients, stores and file locations. */
export interface ActivityDeps {
  db: Database;
  /** Signs the audit chain heads the activities store (the service always gives one). */
  auditNotary?: AuditNotary;
  client: Client;
  taskQueue: string;
  namespace: string;
  policyFile: string;
  inventoryFile: string;
  uiUrl: string;
  notifyWebhookUrl?: string;
  slackWebhookUrl?: string;
  teamsWebhookUrl?: string;
  logger: Logger;
  /** Identity systems beyond the simulated one; absent ones are not registered. */
  connectors?: ConnectorSettings;
}

/** Every activity the worker registers. Workflows import this type only. */
export function createActivities(deps: ActivityDeps) {
  const sendNotice = noticeSender({ ...deps, webhookUrl: deps.notifyWebhookUrl });
  return {
    ...createCaseSteps({
      db: deps.db,
      notary: deps.auditNotary,
      connectors: servedConnectors({ db: deps.db, settings: deps.connectors ?? {} }),
      config: trustedConfig(deps.db, deps),
      sendNotice,
      logger: deps.logger,
    }),
    ...createDecisionActivities(deps.db),
    ...createShadowActivities(deps.client, deps.taskQueue),
  };
}

/** The activity functions, as workflows see them through `proxyActivities`. */
export type Activities = ReturnType<typeof createActivities>;
