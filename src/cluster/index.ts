// A production-shaped Cordon on one machine: PostgreSQL, the Temporal server as separate services
// with mTLS on the frontend and JWT authorization, and Cordon as separate worker and intake
// processes. `npm run cluster` runs it; the cluster tests and benches start it the same way.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditSigner } from '../audit/signing';
import { newKeyEntry } from '../codec/keys';
import { bundleWorkflows } from '../../worker/bundle';
import type { Logger } from '../log';
import { CERT_DAYS, makeClusterCerts, type ClusterCerts } from './certs';
import { CordonProcess, type CordonRole } from './cordon';
import { CLUSTER_NAMESPACE, connectFrontend, prepareNamespace, type FrontendAccess } from './namespace';
import { startPostgres, type LocalPostgres } from './postgres';
import { createClusterRoles, type ClusterDatabases } from './roles';
import { setupTemporalSchema, temporalBinaries, TemporalCluster } from './temporal';
import { makeTokenIssuer, serveJwks, writeClusterTokens, type ClusterTokens, type TokenIssuer } from './tokens';

export { CLUSTER_NAMESPACE } from './namespace';
export type { ClusterTokens } from './tokens';

export interface ClusterOptions {
  /** Where certificates, tokens, keys and logs go (a new temp dir, removed at stop, if unset). */
  dir?: string;
  workers?: number;
  intakes?: number;
  /** Every Cordon process's environment (policy, inventory, sources, connectors); default this one's. */
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Aborting it stops a start-up in progress. */
  signal?: AbortSignal;
}

export interface Cluster {
  dir: string;
  frontend: FrontendAccess;
  certs: ClusterCerts;
  tokens: ClusterTokens;
  /** Mints more tokens (in memory only: the signing key is never written). */
  issuer: TokenIssuer;
  temporal: TemporalCluster;
  postgres: LocalPostgres;
  databases: ClusterDatabases;
  workers: CordonProcess[];
  intakes: CordonProcess[];
  stop(): Promise<void>;
}

async function mintTokens(
  dir: string,
): Promise<{ issuer: TokenIssuer; tokens: ClusterTokens; jwks: Awaited<ReturnType<typeof serveJwks>> }> {
  const issuer = await makeTokenIssuer();
  const jwks = await serveJwks(issuer.jwks);
  // As long as the certificates: nothing renews them while the cluster runs.
  return { issuer, tokens: await writeClusterTokens(issuer, dir, CLUSTER_NAMESPACE, CERT_DAYS * 24), jwks };
}

/** Stops what was started, newest first; a failing step does not keep the others running. */
class Stack {
  private readonly steps: (() => Promise<unknown>)[] = [];
  private unwinding?: Promise<void>;
  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  /** Runs once; a second call (a second signal) waits for the first. */
  unwind(logger: Logger): Promise<void> {
    return (this.unwinding ??= (async () => {
      for (const step of [...this.steps].reverse())
        await step().catch((err) => logger.error({ err }, 'cluster stop step failed'));
    })());
  }
}

async function prepareTemporal(dir: string, jwksUrl: string, pgLogin: Parameters<typeof setupTemporalSchema>[1]) {
  const binaries = temporalBinaries();
  if (!existsSync(binaries.server) || !existsSync(binaries.sqlTool))
    throw new Error(`the Temporal server is not built (${binaries.server}): run npm run setup -- --cluster`);
  setupTemporalSchema(binaries.sqlTool, pgLogin);
  const temporal = await TemporalCluster.create(binaries.server, {
    pg: pgLogin,
    tlsDir: path.join(dir, 'tls'),
    jwksUrl,
    logDir: dir,
  });
  return temporal;
}

// Fills `processes` as it creates them, so a stop during start-up reaches every one.
async function startCordon(cluster: Servers, options: ClusterOptions, processes: Pick<Cluster, 'workers' | 'intakes'>) {
  const payloadKeysFile = path.join(cluster.dir, 'payload-keys');
  writeFileSync(payloadKeysFile, `${newKeyEntry()}\n`, { mode: 0o600 });
  const signingKeyFile = path.join(cluster.dir, 'audit-signing.key');
  AuditSigner.loadOrCreate(signingKeyFile, path.join(cluster.dir, 'audit-signing.pub'));
  // Bundled once for every worker, instead of once by each at start-up.
  const workflowBundle = path.join(cluster.dir, 'workflow-bundle.js');
  writeFileSync(workflowBundle, (await bundleWorkflows()).code);
  const shared = {
    temporalAddress: cluster.frontend.address,
    tls: { ca: cluster.certs.ca, ...cluster.certs.cordon },
    tokenFile: cluster.tokens.cordon,
    databases: cluster.databases,
    payloadKeysFile,
    signingKeyFile,
    dir: cluster.dir,
    env: { ...(options.env ?? process.env), CORDON_WORKFLOW_BUNDLE: workflowBundle },
    secrets: cluster.databases.passwords,
  };
  const create = (role: CordonRole) => (_: unknown, i: number) =>
    CordonProcess.create(`${role}-${i + 1}`, role, shared);
  processes.workers = await Promise.all(Array.from({ length: options.workers ?? 2 }, create('worker')));
  processes.intakes = await Promise.all(Array.from({ length: options.intakes ?? 2 }, create('intake')));
  // The first one migrates the audit database; the others then find it ready.
  const [first, ...rest] = [...processes.workers, ...processes.intakes];
  await first?.start();
  await Promise.all(rest.map((p) => p.start()));
}

type Servers = Omit<Cluster, 'workers' | 'intakes' | 'stop'>;

// Everything but Cordon: PKI, tokens and JWKS, PostgreSQL, Temporal and its namespace.
async function startServers(dir: string, stack: Stack, logger: Logger, signal?: AbortSignal): Promise<Servers> {
  const certs = makeClusterCerts(path.join(dir, 'tls'));
  const { issuer, tokens, jwks } = await mintTokens(dir);
  stack.push(() => jwks.close());
  const postgres = await startPostgres({
    password: randomBytes(18).toString('base64url'),
    maxConnections: 300,
    detached: true,
  });
  stack.push(() => postgres.stop());
  const databases = await createClusterRoles(postgres.url, postgres.port);
  logger.info({ port: postgres.port }, 'cluster: PostgreSQL ready');
  signal?.throwIfAborted();
  const temporal = await prepareTemporal(dir, jwks.url, databases.temporal);
  stack.push(() => temporal.stop());
  await temporal.startAll();
  signal?.throwIfAborted();
  const frontend = { address: temporal.frontendAddress, ca: certs.ca, ...certs.operator };
  const admin = await connectFrontend(frontend, tokens.admin);
  const alive = () => (temporal.assertRunning(), signal?.throwIfAborted());
  await prepareNamespace(admin, { namespace: CLUSTER_NAMESPACE, logger, alive }).finally(() => admin.close());
  logger.info({ frontend: frontend.address }, 'cluster: Temporal ready, namespace locked');
  return { dir, frontend, certs, issuer, tokens, temporal, postgres, databases };
}

/**
 * Starts everything and returns once every Cordon process says it is running. A failure, or an
 * abort through `signal`, stops what had started before it is thrown.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { logger, signal } = options;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'cordon-cluster-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stack = new Stack();
  if (!options.dir) stack.push(async () => rmSync(dir, { recursive: true, force: true }));
  try {
    const servers = await startServers(dir, stack, logger, signal);
    signal?.throwIfAborted();
    const processes = { workers: [] as CordonProcess[], intakes: [] as CordonProcess[] };
    stack.push(() => stopCordon(processes));
    await startCordon(servers, options, processes);
    signal?.throwIfAborted();
    return { ...servers, ...processes, stop: () => stack.unwind(logger) };
  } catch (err) {
    await stack.unwind(logger);
    throw err;
  }
}

/** Intakes first (no new alerts), then the workers drain. */
async function stopCordon({ workers, intakes }: { workers: CordonProcess[]; intakes: CordonProcess[] }) {
  await Promise.all(intakes.map((p) => p.proc && p.stop()));
  await Promise.all(workers.map((p) => p.proc && p.stop()));
}
