// One Temporal server, database and worker per test file, started and stopped by vitest hooks.
import { randomUUID } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerInterceptors } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import type { Alert } from '../../src/alerts';
import { submitAlert } from '../../src/client/submitAlert';
import type { AuditNotary } from '../../src/audit/checkpoints';
import { openDatabase, type Database } from '../../src/db';
import type { Logger } from '../../src/log';
import type { ConnectorSettings } from '../../activities/connectors/types';
import { makeAlert } from './alerts';
import { containment, TEST_POLICY, TestInventory, WebhookSink } from './scenario';
import { startDevServer, startWorker } from './temporal';

/** What a test file may change about its harness. */
export interface HarnessOptions {
  /** Defaults to the dev server. */
  server?: () => Promise<TestWorkflowEnvironment>;
  /** Defaults to in-memory PGlite. */
  database?: () => Promise<Database>;
  /** Defaults to the test policy (rules picked by inventory environment). */
  policyFile?: string;
  /** Defaults to the harness's own writable inventory. */
  inventoryFile?: string;
  /** Start a webhook sink and send notifications to it. */
  webhook?: boolean;
  /** Send notifications here instead (a receiver a test controls). */
  notifyWebhookUrl?: () => string;
  /** Slack and Teams incoming webhooks (receivers a test controls). */
  chatWebhooks?: () => { slack?: string; teams?: string };
  /** SDK interceptors for the worker (fault injection). */
  interceptors?: WorkerInterceptors;
  /** Where the worker's activities log (default: nowhere). */
  logger?: Logger;
  /** False on servers without Cordon's search attributes (the time-skipping server). */
  searchAttributes?: boolean;
  /** Real identity systems for the worker's connectors; called in the harness's beforeAll, so start
   *  the servers in a beforeAll registered before useHarness(). */
  connectors?: () => ConnectorSettings;
  /** Payload encryption for the client and the worker (with the default dev server). */
  dataConverter?: DataConverter;
  /** Signs the chain heads the worker stores (default: stored unsigned). */
  auditNotary?: AuditNotary;
}

/** The running pieces, filled in by `beforeAll`. */
export class Harness {
  env!: TestWorkflowEnvironment;
  db!: Database;
  webhook!: WebhookSink;
  readonly inventory = new TestInventory();
  readonly taskQueue = `test-${randomUUID()}`;

  constructor(private readonly options: HarnessOptions) {}

  /** Submits an alert the way intake does. */
  send(alert: Alert) {
    return submitAlert(this.env.client, this.taskQueue, alert, { searchAttributes: this.options.searchAttributes });
  }

  /** An alert about a simulated identity. */
  alertFor(id: string, overrides: Partial<Alert> = {}): Alert {
    return makeAlert({ identity: { provider: 'simulated', id }, ...overrides });
  }

  /** Invents an identity in `environment`, alerts on it, and returns its containment handle. */
  async contain(environment: string, overrides: Parameters<TestInventory['add']>[1] = {}) {
    const id = this.inventory.add(environment, overrides);
    await this.send(this.alertFor(id));
    return { id, handle: containment(this.env.client, id) };
  }
}

/** Registers hooks that start and stop a harness around the file's tests. */
export function useHarness(options: HarnessOptions = {}): Harness {
  const harness = new Harness(options);
  let stopWorker: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    [harness.env, harness.db] = await Promise.all([
      (options.server ?? (() => startDevServer({ dataConverter: options.dataConverter })))(),
      (options.database ?? (() => openDatabase({})))(),
    ]);
    if (options.webhook) harness.webhook = await WebhookSink.start();
    const worker = await startWorker(harness.env, harness.db, harness.taskQueue, {
      policyFile: options.policyFile ?? TEST_POLICY,
      inventoryFile: options.inventoryFile ?? harness.inventory.file,
      notifyWebhookUrl: options.notifyWebhookUrl?.() ?? harness.webhook?.url,
      slackWebhookUrl: options.chatWebhooks?.().slack,
      teamsWebhookUrl: options.chatWebhooks?.().teams,
      logger: options.logger,
      interceptors: options.interceptors,
      connectors: options.connectors?.(),
      dataConverter: options.dataConverter,
      auditNotary: options.auditNotary,
    });
    const done = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await done;
    };
  });
  afterAll(async () => {
    await stopWorker();
    await Promise.all([harness.env?.teardown(), harness.db?.close(), harness.webhook?.close()]);
  });
  return harness;
}
