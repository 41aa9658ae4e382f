// The throughput and storm benches on the production-shaped cluster (src/cluster, as `npm run
// cluster` starts it): PostgreSQL, the Temporal services as separate processes with mTLS and JWT
// authorization, Cordon as separate worker and intake processes. Every Cordon process reads the
// same policy, inventory and sources files: a bench's files are copied over them, and the
// processes restarted, when they differ. The bare floor runs on the same cluster, its worker
// connecting as Cordon's do, with Cordon's certificate and token.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { startCluster, type Cluster } from '../../src/cluster';
import type { CordonProcess } from '../../src/cluster/cordon';
import { dataConverterFor } from '../../src/codec';
import { openDatabase, type Database } from '../../src/db';
import type { Logger } from '../../src/log';
import { clusterAccess, connectTo } from './access';
import { BenchFiles, type BenchStack, type RunningCordon, type ServiceOptions, type Side } from './benchStack';
import { inheritedEnv, startBareWorker, stopChild, type BareWorker, type Child } from './children';
import { CpuTable, type Component } from './cpuTable';
import { parentPid, processUsage, treeCpuMs } from './usage';

type ServedFiles = Required<Omit<ServiceOptions, 'env'>>;
const SERVED = ['policyFile', 'inventoryFile', 'sourcesFile'] as const;

const running = (p: CordonProcess) =>
  p.proc !== undefined && p.proc.child.exitCode === null && p.proc.child.signalCode === null;

// PostgreSQL runs as another user, whose pid the cluster does not hand out: a backend's parent is it.
async function postmasterPid(db: Database): Promise<number> {
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return parentPid(rows[0].pid);
}

export class ClusterStack extends BenchFiles implements BenchStack {
  /** Cordon's default task queue, which the cluster's processes poll. */
  readonly taskQueue = 'cordon';
  readonly bareTaskQueue = 'bare';
  private readonly children: Child[] = [];
  private bare?: BareWorker;
  private workerCount: number;
  private loaded = '';
  private cpu = new CpuTable(() => this.components());
  /** This round's workflow tasks in Cordon's timed work: found in a worker's cache, or replayed from history. */
  cache = { hits: 0, misses: 0 };

  private constructor(
    dir: string,
    readonly cluster: Cluster,
    private readonly served: ServedFiles,
    private readonly connection: Connection,
    readonly client: Client,
    readonly bareClient: Client,
    readonly db: Database,
    private readonly postmaster: number,
  ) {
    super(dir);
    this.workerCount = cluster.workers.length;
  }

  /** The cluster with two workers and two intakes, and the operator's client on it. */
  static async start(logger: Logger): Promise<ClusterStack> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-cluster-'));
    const files = new BenchFiles(dir);
    const served = {
      policyFile: files.policy('served'),
      inventoryFile: files.inventory('served', []),
      sourcesFile: files.source('served').sourcesFile,
    };
    const env = {
      ...inheritedEnv(),
      CORDON_POLICY_FILE: served.policyFile,
      CORDON_INVENTORY_FILE: served.inventoryFile,
      CORDON_SOURCES_FILE: served.sourcesFile,
    };
    const cluster = await startCluster({ dir: path.join(dir, 'cluster'), logger, workers: 2, intakes: 2, env }).catch(
      (err: unknown) => {
        if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
        throw err;
      },
    );
    try {
      const connection = await connectTo(clusterAccess(cluster, 'operator'));
      // The operator holds the payload key, as `cordon status` on the cluster would.
      const keys = { CORDON_PAYLOAD_KEYS_FILE: path.join(cluster.dir, 'payload-keys'), CORDON_DATA_DIR: dir };
      const client = new Client({ connection, dataConverter: dataConverterFor(keys) });
      const db = await openDatabase({
        url: cluster.databases.cordonUrl,
        migrationUrl: cluster.databases.cordonOwnerUrl,
      });
      const postmaster = await postmasterPid(db);
      return new ClusterStack(dir, cluster, served, connection, client, new Client({ connection }), db, postmaster);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Starts a round with `workers` Cordon workers (from the next startService) and a new CPU table. */
  round(workers: number): CpuTable {
    this.workerCount = workers;
    this.cpu = new CpuTable(() => this.components());
    this.cache = { hits: 0, misses: 0 };
    return this.cpu;
  }

  /**
   * Serves the bench's files: when they differ from what the processes read, every Cordon process
   * stops, the files are copied over, and they start again. Then as many workers as the round
   * has run, and every intake. They stay up after `stop()`: the next round decides.
   */
  async startService(options: ServiceOptions): Promise<RunningCordon> {
    if (options.env) throw new Error('on the cluster every Cordon process keeps the environment it started with');
    const wanted: ServedFiles = { ...options, sourcesFile: options.sourcesFile ?? this.served.sourcesFile };
    const contents = SERVED.map((key) => readFileSync(wanted[key], 'utf8')).join('\0');
    const { workers, intakes } = this.cluster;
    if (contents !== this.loaded) {
      // Intakes first, as the cluster stops them: no new alerts while the workers drain.
      await Promise.all(intakes.filter(running).map((p) => p.stop()));
      await Promise.all(workers.filter(running).map((p) => p.stop()));
      for (const key of SERVED) copyFileSync(wanted[key], this.served[key]);
      this.loaded = contents;
    }
    const [on, off] = [workers.slice(0, this.workerCount), workers.slice(this.workerCount)];
    await Promise.all(off.filter(running).map((p) => p.stop()));
    await Promise.all([...on, ...intakes].filter((p) => !running(p)).map((p) => p.start()));
    return {
      workerPids: on.map((p) => p.proc.child.pid!),
      intakeUrls: intakes.map((p) => p.url),
      stop: async () => undefined,
    };
  }

  /** The bare floor's worker, with Cordon's certificate and token (a `default:write` grant). */
  async startBareWorker(): Promise<BareWorker> {
    const logFile = path.join(this.dir, 'bare-worker.log');
    const bare = await startBareWorker(clusterAccess(this.cluster, 'cordon'), this.bareTaskQueue, logFile, (c) =>
      this.children.push(c),
    );
    this.bare = bare;
    return {
      ...bare,
      stop: async () => {
        this.bare = undefined;
        await bare.stop();
      },
    };
  }

  async during<T>(side: Side, units: number, work: () => Promise<T>): Promise<T> {
    if (side === 'floor') return this.cpu.during(side, units, work);
    const before = await this.workerCacheCounts();
    try {
      return await this.cpu.during(side, units, work);
    } finally {
      const after = await this.workerCacheCounts();
      for (const [worker, { hits, misses }] of after) {
        this.cache.hits += hits - (before.get(worker)?.hits ?? hits);
        this.cache.misses += misses - (before.get(worker)?.misses ?? misses);
      }
    }
  }

  // A workflow task for a case another worker ran (or one evicted) misses the cache and replays its history.
  private async workerCacheCounts(): Promise<Map<string, { hits: number; misses: number }>> {
    const counts = new Map<string, { hits: number; misses: number }>();
    for (const worker of this.cluster.workers.filter(running)) {
      const text = await (await fetch(worker.url)).text();
      const total = (name: string) =>
        [...text.matchAll(new RegExp(`^temporal_sticky_cache_${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
          (n, [, value]) => n + Number(value),
          0,
        );
      counts.set(worker.name, { hits: total('hit'), misses: total('miss') });
    }
    return counts;
  }

  /** What runs now: each Temporal service, PostgreSQL with its backends, each Cordon process, the bare worker, the bench. */
  private components(): Component[] {
    const proc = (name: string, pid: number): Component => ({ name, cpuMs: () => processUsage(pid).cpuMs });
    const { temporal, workers, intakes } = this.cluster;
    return [
      ...[...temporal.processes].map(([service, p]) => proc(`temporal ${service}`, p.child.pid!)),
      { name: 'postgresql (postmaster + backends)', cpuMs: () => treeCpuMs(this.postmaster) },
      ...[...workers, ...intakes].filter(running).map((p) => proc(`cordon ${p.name}`, p.proc.child.pid!)),
      ...(this.bare ? [proc('bare worker', this.bare.pid)] : []),
      { ...proc('bench (load, clients, JWKS)', process.pid), client: true },
    ];
  }

  /** Stops everything; a failed step is reported and the others still run. */
  async close(): Promise<void> {
    const steps = [
      () => Promise.all(this.children.map((c) => stopChild(c, 'SIGTERM'))),
      () => this.connection.close(),
      () => this.db.close(),
      () => this.cluster.stop(),
    ];
    for (const step of steps) await step().catch((err) => console.error('teardown step failed:', err));
    if (!process.env.BENCH_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
