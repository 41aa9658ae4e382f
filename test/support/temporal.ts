// Real Temporal servers for tests: the dev server binary and the time-skipping test server.
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkerInterceptors } from '@temporalio/worker';
import { inject } from 'vitest';
import { resolveTemporalCli, resolveTestServer, serverExecutable } from '../../src/temporal/binaries';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { createLogger, type Logger } from '../../src/log';
import { installRuntime } from '../../worker/runtime';
import type { ConnectorSettings } from '../../activities/connectors/types';
import { createWorker } from '../../worker/worker';
import type { Database } from '../../src/db';

/** Test logs go nowhere unless CORDON_TEST_LOG_LEVEL asks for them. */
export const testLogger = createLogger(process.env.CORDON_TEST_LOG_LEVEL ?? 'silent');

/** Starts `temporal server start-dev` with Cordon's search attributes: in memory unless `dbFilename`; a Web UI on `uiPort`. */
export async function startDevServer({ uiPort, port, dbFilename }: { uiPort?: number; port?: number; dbFilename?: string } = {}): Promise<TestWorkflowEnvironment> {
  installRuntime(testLogger);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable(resolveTemporalCli()),
      ip: '127.0.0.1',
      port,
      dbFilename,
      searchAttributes: [...SEARCH_ATTRIBUTES],
      ...(uiPort && { ui: true, uiPort, extraArgs: ['--ui-disable-news-fetch'] }),
    },
  });
}

/** Starts the Java time-skipping test server. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  installRuntime(testLogger);
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: serverExecutable(resolveTestServer()) },
  });
}

/** The shipped config folder (what `npm start` reads). */
export const CONFIG_DIR = path.resolve(__dirname, '..', '..', 'config');

/** What a test worker reads: config files and the notification webhook. */
export interface TestWorkerOptions {
  policyFile: string;
  inventoryFile: string;
  notifyWebhookUrl?: string;
  logger?: Logger;
  interceptors?: WorkerInterceptors;
  connectors?: ConnectorSettings;
}

/** A Cordon worker on the environment, on its own task queue, using the prebuilt bundle. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  db: Database,
  taskQueue: string,
  options: TestWorkerOptions,
): Promise<Worker> {
  return createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    db,
    client: env.client,
    policyFile: options.policyFile,
    inventoryFile: options.inventoryFile,
    uiUrl: 'http://127.0.0.1:8233',
    notifyWebhookUrl: options.notifyWebhookUrl,
    logger: options.logger ?? testLogger,
    interceptors: options.interceptors,
    connectors: options.connectors,
  });
}
