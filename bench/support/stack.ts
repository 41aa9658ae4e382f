// What benches and chaos runs stand on: a persisted Temporal dev server and a PostgreSQL
// cluster of their own, the real Cordon service (`src/main.ts`) as a child process that can be
// killed, and a bare baseline worker. Nothing here is a test double.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { dataConverterFor, newKeyEntry } from '../../src/codec';
import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db';
import { createLogger } from '../../src/log';
import { freePort } from '../../src/net';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/temporal/embeddedServer';
import { bundleWorkflows } from '../../worker/bundle';
import { startPostgres, type TestPostgres } from '../../test/support/postgres';
import { connectTo, devServerAccess } from './access';
import { BenchFiles, type BenchStack, type RunningCordon, type ServiceOptions, type Side } from './benchStack';
import { spawnTs, startBareWorker, stopChild, type Child } from './children';
import { processUsage } from './usage';

// The dev server's warnings under load (slow calls, retried tasks) would drown the tables.
const quiet = createLogger('error');

/** The Cordon service under test: worker and HTTP intake in one process, as `npm start` runs them. */
export interface CordonService extends RunningCordon {
  pid: number;
  port: number;
  url: string;
  usage(): ReturnType<typeof processUsage>;
  /** SIGTERM drains it; SIGKILL is a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

// Free ports can be taken between asking and binding (the server binds several): try others.
async function startTemporal(
  dir: string,
  attempts = 3,
): Promise<{ temporal: EmbeddedServer; temporalConfig: ReturnType<typeof loadConfig> }> {
  const temporalConfig = loadConfig({
    CORDON_DATA_DIR: dir,
    CORDON_DEV_SERVER_PORT: String(await freePort()),
    CORDON_UI_PORT: String(await freePort()),
  });
  try {
    return { temporal: await startEmbeddedServer(temporalConfig, quiet), temporalConfig };
  } catch (err) {
    if (attempts <= 1) throw err;
    return startTemporal(dir, attempts - 1);
  }
}

export class Stack extends BenchFiles implements BenchStack {
  readonly taskQueue = 'cordon';
  readonly bareTaskQueue = 'bare';
  private temporal?: EmbeddedServer;
  private children: Child[] = [];

  private constructor(
    dir: string,
    private temporalConfig: ReturnType<typeof loadConfig>,
    private readonly postgres: TestPostgres,
    readonly connection: Connection,
    readonly client: Client,
    readonly bareClient: Client,
    readonly db: Database,
    private readonly bundleFile: string,
    private readonly payloadKeys: string,
  ) {
    super(dir);
  }

  get address(): string {
    return `127.0.0.1:${this.temporalConfig.CORDON_DEV_SERVER_PORT}`;
  }

  get databaseUrl(): string {
    return this.postgres.url;
  }

  /** A dev server persisted under a fresh directory, a fresh PostgreSQL, and a client on both. */
  static async start(name: string): Promise<Stack> {
    const dir = mkdtempSync(path.join(tmpdir(), `cordon-${name}-`));
    const [{ temporal, temporalConfig }, postgres, bundle] = await Promise.all([
      startTemporal(dir),
      startPostgres(),
      bundleWorkflows(),
    ]);
    const bundleFile = path.join(dir, 'workflow-bundle.js');
    writeFileSync(bundleFile, bundle.code);
    const connection = await connectTo(devServerAccess(temporal.address));
    const db = await openDatabase({ url: postgres.url }); // migrates before any service starts
    // Services encrypt payloads as in production; the bench's client holds the same key.
    const payloadKeys = newKeyEntry();
    const client = new Client({
      connection,
      dataConverter: dataConverterFor({ CORDON_PAYLOAD_KEYS: payloadKeys, CORDON_DATA_DIR: dir }),
    });
    const bareClient = new Client({ connection });
    const stack = new Stack(dir, temporalConfig, postgres, connection, client, bareClient, db, bundleFile, payloadKeys);
    stack.temporal = temporal;
    return stack;
  }

  /** Stops the Temporal server (its database file stays). */
  async stopTemporal(): Promise<void> {
    await this.temporal?.stop();
    this.temporal = undefined;
  }

  /**
   * Starts the Temporal server again on the same gRPC port and database file. While it was down
   * another process may have taken its UI port: then it tries a fresh one.
   */
  async restartTemporal(attempts = 5): Promise<void> {
    try {
      this.temporal ??= await startEmbeddedServer(this.temporalConfig, quiet);
    } catch (err) {
      if (attempts <= 1) throw err;
      this.temporalConfig = { ...this.temporalConfig, CORDON_UI_PORT: await freePort() };
      await this.restartTemporal(attempts - 1);
    }
  }

  /** Starts `src/main.ts` against this stack (on `port` when given) and waits until its intake answers. */
  async startService(options: ServiceOptions & { port?: number }): Promise<CordonService> {
    const port = options.port ?? (await freePort());
    const child = spawnTs(
      'src/main.ts',
      [],
      {
        ...devServerAccess(this.address),
        DATABASE_URL: this.databaseUrl,
        CORDON_TASK_QUEUE: this.taskQueue,
        CORDON_HTTP_PORT: String(port),
        CORDON_POLICY_FILE: options.policyFile,
        CORDON_INVENTORY_FILE: options.inventoryFile,
        CORDON_WORKFLOW_BUNDLE: this.bundleFile,
        CORDON_LOG_LEVEL: 'warn',
        CORDON_DATA_DIR: path.join(this.dir, `service-${port}`),
        CORDON_PAYLOAD_KEYS: this.payloadKeys,
        ...(options.sourcesFile && { CORDON_SOURCES_FILE: options.sourcesFile }),
        ...options.env,
      },
      path.join(this.dir, 'service.log'),
    );
    this.children.push(child);
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      if (child.process.exitCode !== null)
        throw new Error(`the Cordon service exited with ${child.process.exitCode}; see ${this.dir}/service.log`);
      const healthy = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (healthy) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = child.process.pid!;
    return {
      pid,
      port,
      url,
      workerPids: [pid],
      intakeUrls: [url],
      usage: () => processUsage(pid),
      stop: (signal = 'SIGTERM') => stopChild(child, signal),
    };
  }

  /** Starts the bare baseline worker on its own task queue. */
  startBareWorker() {
    return startBareWorker(
      devServerAccess(this.address),
      this.bareTaskQueue,
      path.join(this.dir, 'bare-worker.log'),
      (c) => this.children.push(c),
    );
  }

  /** The dev server is one process: nothing to split the CPU over. */
  during<T>(_side: Side, _units: number, work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** Stops everything; a failed step is reported and the others still run. */
  async close(): Promise<void> {
    const steps = [
      () => Promise.all(this.children.map((c) => stopChild(c, 'SIGTERM'))),
      () => this.connection.close(),
      () => this.db.close(),
      () => this.stopTemporal(),
      () => this.postgres.stop(),
    ];
    for (const step of steps) await step().catch((err) => console.error('teardown step failed:', err));
    if (!process.env.BENCH_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
