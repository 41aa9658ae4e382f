// The worker role: cases and their activities on the task queue, on its own native connection.
import { NativeConnection } from '@temporalio/worker';
import type { ConnectorSettings } from '../../activities/connectors/types';
import { capWorkflowHeap, workflowCacheSize } from '../../worker/cacheSize';
import { loadWorkflowBundle } from '../../worker/bundle';
import { createWorker } from '../../worker/worker';
import { temporalConnectionOptions } from '../client/connect';
import { uiUrl } from '../config';
import type { Service } from './shared';

/** Starts the worker; `workerDone` settles when it stops (or fails). */
export async function runWorker({ config, logger, stops, ...service }: Service, connectors: ConnectorSettings) {
  const options = temporalConnectionOptions(config);
  const connection = await NativeConnection.connect(options);
  stops.push({ step: 'worker connection closed', run: () => connection.close() });
  service.apiKeys?.add(connection);
  const cache = workflowCacheSize(config);
  if (cache.memoryMiB) capWorkflowHeap(cache.memoryMiB);
  logger.info(cache, 'case cache sized: memory stays bounded however many cases are open');
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.CORDON_TASK_QUEUE,
    workflowBundle: await loadWorkflowBundle(config.CORDON_WORKFLOW_BUNDLE),
    db: service.db,
    auditNotary: service.auditNotary,
    client: service.client,
    policyFile: config.CORDON_POLICY_FILE,
    inventoryFile: config.CORDON_INVENTORY_FILE,
    uiUrl: uiUrl(config),
    notifyWebhookUrl: config.CORDON_NOTIFY_WEBHOOK_URL,
    slackWebhookUrl: config.CORDON_SLACK_WEBHOOK_URL,
    teamsWebhookUrl: config.CORDON_TEAMS_WEBHOOK_URL,
    connectors,
    maxCachedWorkflows: cache.maxCachedWorkflows,
    dataConverter: service.dataConverter,
    logger,
  });
  const workerDone = worker.run();
  workerDone.catch(() => undefined); // observed by run() once start-up finishes; never unhandled
  stops.push({
    step: 'worker drained',
    run: async () => {
      worker.shutdown();
      await workerDone;
    },
  });
  return { workerDone };
}
