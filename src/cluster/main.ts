// `npm run cluster`: the production topology on this machine (README "Production"). Everything
// binds to loopback and lives until Ctrl-C; its files are in .cordon/cluster, made new each start.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../log';
import { PROJECT_ROOT } from '../temporal/binaries';
import { startCluster, type Cluster } from '.';

const DIR = path.join(PROJECT_ROOT, '.cordon', 'cluster');
const PID_FILE = path.join(DIR, 'cluster.pid');

// A second start would delete the first one's keys and tokens from under it.
function runningCluster(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

// Sourced by an operator's shell: the temporal CLI and the cordon CLI then reach the cluster.
function writeOperatorEnv(cluster: Cluster): string {
  const file = path.join(cluster.dir, 'operator.env');
  const { frontend, tokens } = cluster;
  const q = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  const lines = [
    `export TEMPORAL_ADDRESS=${q(frontend.address)}`,
    `export TEMPORAL_NAMESPACE=default`,
    // Cordon's names, then the temporal CLI's for the same files.
    `export TEMPORAL_TLS_CA_FILE=${q(frontend.ca)} TEMPORAL_TLS_SERVER_CA_CERT_PATH=${q(frontend.ca)}`,
    `export TEMPORAL_TLS_CERT_FILE=${q(frontend.cert)} TEMPORAL_TLS_CLIENT_CERT_PATH=${q(frontend.cert)}`,
    `export TEMPORAL_TLS_KEY_FILE=${q(frontend.key)} TEMPORAL_TLS_CLIENT_KEY_PATH=${q(frontend.key)}`,
    `export TEMPORAL_TLS_SERVER_NAME=localhost`,
    `export TEMPORAL_API_KEY_FILE=${q(tokens.operator)}`,
    // The temporal CLI takes the token itself, not a file.
    `export TEMPORAL_API_KEY="$(cat ${q(tokens.operator)})"`,
    `export DATABASE_URL=${q(cluster.databases.cordonUrl)}`,
    `export CORDON_PAYLOAD_KEYS_FILE=${q(path.join(cluster.dir, 'payload-keys'))}`,
    `export CORDON_AUDIT_PUBLIC_KEY_FILE=${q(path.join(cluster.dir, 'audit-signing.pub'))}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

async function run(): Promise<void> {
  const logger = createLogger(process.env.CORDON_LOG_LEVEL ?? 'info');
  const owner = runningCluster();
  if (owner) {
    console.error(`cordon cluster: already running (pid ${owner}); its files are in ${DIR}`);
    process.exit(2);
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  writeFileSync(PID_FILE, String(process.pid));
  const starting = new AbortController();
  let cluster: Cluster | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'cluster: stopping');
      // During start-up the abort makes startCluster stop what it started, then throw.
      if (!cluster) return starting.abort(new Error(`stopped by ${reason} during start-up`));
      await cluster.stop();
      logger.info('cluster: stopped');
      process.exit(0);
    })());
  // Every signal is handled: Ctrl-C arrives from the terminal and again from npm.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
  cluster = await startCluster({ dir: DIR, logger, workers: 2, intakes: 2, signal: starting.signal });
  logger.info(
    {
      intakes: cluster.intakes.map((p) => p.url),
      workers: cluster.workers.map((p) => ({ name: p.name, metrics: p.url })),
      temporal: cluster.frontend.address,
      services: Object.fromEntries([...cluster.temporal.processes].map(([name, p]) => [name, p.child.pid])),
      operator: `source ${writeOperatorEnv(cluster)}  # then: temporal workflow list, npx cordon status ...`,
      logs: cluster.dir,
    },
    'cluster is running: Ctrl-C stops it all',
  );
}

run().catch((err) => {
  console.error(`cordon cluster: ${(err as Error).message}`);
  process.exit(1);
});
