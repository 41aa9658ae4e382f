// What benches and chaos runs stand on: a persisted Temporal dev server and a PostgreSQL
// cluster of their own, the real Cordon service (`src/main.ts`) as a child process that can be
// killed, and a bare baseline worker. Nothing here is a test double.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { dataConverterFor, newKeyEntry } from '../../src/codec';
import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db';
import { createLogger } from '../../src/log';
import { newToken } from '../../src/intake/sources';
import { freePort } from '../../src/net';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/temporal/embeddedServer';
import { bundleWorkflows } from '../../worker/bundle';
import { startPostgres, type TestPostgres } from '../../test/support/postgres';

const ROOT = path.resolve(__dirname, '..', '..');
const BASE_POLICY = path.resolve(__dirname, '..', 'policy.yaml');
// The dev server's warnings under load (slow calls, retried tasks) would drown the tables.
const quiet = createLogger('error');

/** CPU time (ms, user + system) and resident memory of a live process, from /proc. */
export function processUsage(pid: number): { cpuMs: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (clock ticks of 10 ms)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ticks * 10, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

/** Samples a process's usage over a stretch of work: CPU share of one core and peak RSS. */
export function watchUsage(pid: number) {
  const start = { at: performance.now(), ...processUsage(pid) };
  let peakRss = start.rssBytes;
  const timer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, processUsage(pid).rssBytes);
    } catch {
      // the process exited; the last sample stands
    }
  }, 200);
  return () => {
    clearInterval(timer);
    const end = processUsage(pid);
    return {
      cpuPercent: (100 * (end.cpuMs - start.cpuMs)) / (performance.now() - start.at),
      peakRssMiB: Math.max(peakRss, end.rssBytes) / 2 ** 20,
      rssMiB: end.rssBytes / 2 ** 20,
    };
  };
}

/** A child process we started, with its exit observed. */
interface Child {
  process: ChildProcess;
  exited: Promise<number | null>;
}

// A webhook, cloud credentials or fault settings in the operator's shell must not reach a bench.
const inheritedEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CORDON_|TEMPORAL_|DATABASE_URL$|AWS_)/.test(k)));

function spawnTs(entry: string, args: string[], env: Record<string, string>, logFile: string, ipc = false): Child {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return { process: child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

const STOP_GRACE_MS = 20_000;

// A process that does not drain within the grace period is killed: teardown never hangs.
async function stopChild(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_GRACE_MS);
  await child.exited;
  clearTimeout(timer);
}

/** The Cordon service under test: worker and HTTP intake in one process, as `npm start` runs them. */
export interface CordonService {
  pid: number;
  port: number;
  url: string;
  usage(): ReturnType<typeof processUsage>;
  /** SIGTERM drains it; SIGKILL is a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** What a service is started with, beyond the stack's server, database and task queue. */
export interface ServiceOptions {
  policyFile: string;
  inventoryFile: string;
  sourcesFile?: string;
  env?: Record<string, string>;
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

export class Stack {
  readonly taskQueue = 'cordon';
  readonly bareTaskQueue = 'bare';
  private temporal?: EmbeddedServer;
  private children: Child[] = [];

  private constructor(
    readonly dir: string,
    private temporalConfig: ReturnType<typeof loadConfig>,
    private readonly postgres: TestPostgres,
    readonly connection: Connection,
    readonly client: Client,
    /** For the bare worker: the baseline does the user's work, without Cordon's encryption. */
    readonly bareClient: Client,
    readonly db: Database,
    private readonly bundleFile: string,
    private readonly payloadKeys: string,
  ) {}

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
    const connection = await Connection.connect({ address: temporal.address });
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

  /** Writes a policy: the bench base policy with top-level fields replaced. */
  policy(name: string, overrides: Record<string, unknown> = {}): string {
    const file = path.join(this.dir, `${name}.policy.yaml`);
    writeFileSync(file, stringify({ ...parse(readFileSync(BASE_POLICY, 'utf8')), ...overrides }));
    return file;
  }

  /** Writes an inventory of simulated identities in `environment` (which picks the policy rule). */
  inventory(name: string, groups: { environment: string; ids: string[] }[]): string {
    const file = path.join(this.dir, `${name}.inventory.yaml`);
    const identities = groups.flatMap(({ environment, ids }) =>
      ids.map((id) => ({ provider: 'simulated', id, class: 'ephemeral', environment, owner: 'bench' })),
    );
    writeFileSync(file, stringify({ identities }));
    return file;
  }

  /** Writes a sources file with one bearer-token source that may send native alerts, unthrottled. */
  source(name: string): { sourcesFile: string; token: string } {
    const { token, hash } = newToken();
    const sourcesFile = path.join(this.dir, `${name}.sources.yaml`);
    writeFileSync(
      sourcesFile,
      stringify({
        sources: [{ name, formats: ['native'], tokens: [hash], rateLimit: { perSecond: 1e6, burst: 1e6 } }],
      }),
    );
    return { sourcesFile, token };
  }

  /** Starts `src/main.ts` against this stack (on `port` when given) and waits until its intake answers. */
  async startService(options: ServiceOptions & { port?: number }): Promise<CordonService> {
    const port = options.port ?? (await freePort());
    const child = spawnTs(
      'src/main.ts',
      [],
      {
        TEMPORAL_ADDRESS: this.address,
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
    return { pid, port, url, usage: () => processUsage(pid), stop: (signal = 'SIGTERM') => stopChild(child, signal) };
  }

  /** Starts the bare baseline worker on its own task queue. */
  async startBareWorker() {
    const child = spawnTs(
      'bench/bareWorker.ts',
      [this.address, this.bareTaskQueue],
      {},
      path.join(this.dir, 'bare-worker.log'),
      true,
    );
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.process.once('message', () => resolve());
      void child.exited.then((code) =>
        reject(new Error(`bare worker exited with ${code}; see ${this.dir}/bare-worker.log`)),
      );
    });
    const pid = child.process.pid!;
    return {
      pid,
      usage: () => processUsage(pid),
      /** When each bare workflow's first no-op ran (epoch ms), by workflow id. */
      /** When each workflow's no-ops ran, in order (epoch ms). */
      runs: () =>
        new Promise<Record<string, number[]>>((resolve) => {
          child.process.once('message', (m) => resolve((m as { runs: Record<string, number[]> }).runs));
          child.process.send('report');
        }),
      stop: () => stopChild(child, 'SIGTERM'),
    };
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
