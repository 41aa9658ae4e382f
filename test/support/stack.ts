// The vitest-free half of the test support: real Temporal servers, a Cordon worker on any
// bundle, the test policy and a writable inventory. Tests reach these through temporal.ts and
// scenario.ts; scripts (scripts/record-histories.ts) import them here, without vitest.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerInterceptors } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { resolveTemporalCli, resolveTestServer, serverExecutable } from '../../src/temporal/binaries';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { createLogger, type Logger } from '../../src/log';
import type { InventoryIdentity } from '../../src/inventory';
import { installRuntime } from '../../worker/runtime';
import type { ConnectorSettings } from '../../activities/connectors/types';
import { createWorker, type CordonWorker, type WorkerOptions } from '../../worker/worker';
import type { AuditNotary } from '../../src/audit/checkpoints';
import type { Database } from '../../src/db';

/** Test logs go nowhere unless CORDON_TEST_LOG_LEVEL asks for them. */
export const testLogger = createLogger(process.env.CORDON_TEST_LOG_LEVEL ?? 'silent');

/** Starts `temporal server start-dev` with Cordon's search attributes: in memory unless `dbFilename`; a Web UI on `uiPort`. */
export async function startDevServer({
  uiPort,
  port,
  dbFilename,
  dataConverter,
  codecEndpoint,
}: {
  uiPort?: number;
  port?: number;
  dbFilename?: string;
  dataConverter?: DataConverter;
  /** Where the Web UI decodes encrypted payloads. */
  codecEndpoint?: string;
} = {}): Promise<TestWorkflowEnvironment> {
  installRuntime(testLogger);
  return TestWorkflowEnvironment.createLocal({
    client: { dataConverter },
    server: {
      executable: serverExecutable(resolveTemporalCli()),
      ip: '127.0.0.1',
      port,
      dbFilename,
      searchAttributes: [...SEARCH_ATTRIBUTES],
      ...(uiPort && {
        ui: true,
        uiPort,
        extraArgs: ['--ui-disable-news-fetch', ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : [])],
      }),
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
  slackWebhookUrl?: string;
  teamsWebhookUrl?: string;
  logger?: Logger;
  interceptors?: WorkerInterceptors;
  connectors?: ConnectorSettings;
  /** Payload encryption; the environment's client must use the same. */
  dataConverter?: DataConverter;
  /** Signs the chain heads the worker stores. */
  auditNotary?: AuditNotary;
}

/** Cordon workers on the environment, on their own task queues, running `workflowBundle`. */
export async function startWorkerWithBundle(
  env: TestWorkflowEnvironment,
  db: Database,
  taskQueue: string,
  options: TestWorkerOptions,
  workflowBundle: WorkerOptions['workflowBundle'],
): Promise<CordonWorker> {
  return createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle,
    db,
    client: env.client,
    policyFile: options.policyFile,
    inventoryFile: options.inventoryFile,
    uiUrl: 'http://127.0.0.1:8233',
    notifyWebhookUrl: options.notifyWebhookUrl,
    slackWebhookUrl: options.slackWebhookUrl,
    teamsWebhookUrl: options.teamsWebhookUrl,
    logger: options.logger ?? testLogger,
    interceptors: options.interceptors,
    connectors: options.connectors,
    dataConverter: options.dataConverter,
    auditNotary: options.auditNotary,
  });
}

export const TEST_POLICY = path.resolve(__dirname, '..', 'fixtures', 'policy.yaml');

/** A copy of the test policy, changed by `edit`; returns its path. */
export function testPolicyWith(edit: (policy: any) => void): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-policy-')), 'policy.yaml');
  const policy = parse(readFileSync(TEST_POLICY, 'utf8'));
  edit(policy);
  writeFileSync(file, stringify(policy));
  return file;
}

/** A copy of the test policy with another destructive-action budget per hour; returns its path. */
export const testPolicyWithBudget = (limit: number) => testPolicyWith((p) => (p.governor.budget.limit = limit));

/** An inventory file the test extends as it invents identities; the worker rereads it per run. */
export class TestInventory {
  readonly file = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-inventory-')), 'inventory.yaml');
  private readonly identities: Partial<InventoryIdentity>[] = [];
  private counter = 0;

  constructor() {
    this.flush();
  }

  /** Adds an identity in `environment` (which picks the test policy's rule); returns its id (`extra.id`, else a new one). */
  add(environment: string, extra: Partial<InventoryIdentity> = {}): string {
    this.counter += 1;
    const id = extra.id ?? `${environment}-${this.counter}-${process.pid}`;
    this.identities.push({ provider: 'simulated', class: 'ephemeral', environment, owner: 'carol', ...extra, id });
    this.flush();
    return id;
  }

  /** The id most recently added in `environment`. */
  last(environment: string): string {
    return this.identities.filter((i) => i.environment === environment).at(-1)!.id!;
  }

  private flush(): void {
    writeFileSync(this.file, stringify({ identities: this.identities }));
  }
}
