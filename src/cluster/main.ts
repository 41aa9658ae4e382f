// `npm run cluster`: the production topology on this machine (README "Production"). Everything
// binds to loopback and lives until Ctrl-C; its files are in .cordon/cluster, made new each start.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../log';
import { PROJECT_ROOT } from '../temporal/binaries';
import { startCluster, type Cluster } from '.';

const DIR = path.join(PROJECT_ROOT, '.cordon', 'cluster');

// Sourced by an operator's shell: the temporal CLI and the cordon CLI then reach the cluster.
function writeOperatorEnv(cluster: Cluster): string {
  const file = path.join(cluster.dir, 'operator.env');
  const { frontend, tokens } = cluster;
  const lines = [
    `export TEMPORAL_ADDRESS=${frontend.address}`,
    `export TEMPORAL_NAMESPACE=default`,
    // Cordon's names, then the temporal CLI's for the same files.
    `export TEMPORAL_TLS_CA_FILE=${frontend.ca} TEMPORAL_TLS_SERVER_CA_CERT_PATH=${frontend.ca}`,
    `export TEMPORAL_TLS_CERT_FILE=${frontend.cert} TEMPORAL_TLS_CLIENT_CERT_PATH=${frontend.cert}`,
    `export TEMPORAL_TLS_KEY_FILE=${frontend.key} TEMPORAL_TLS_CLIENT_KEY_PATH=${frontend.key}`,
    `export TEMPORAL_TLS_SERVER_NAME=localhost`,
    `export TEMPORAL_API_KEY_FILE=${tokens.operator}`,
    `export TEMPORAL_API_KEY="$(cat ${tokens.operator})"`,
    `export DATABASE_URL='${cluster.databaseUrl}'`,
    `export CORDON_PAYLOAD_KEYS_FILE=${path.join(cluster.dir, 'payload-keys')}`,
    `export CORDON_AUDIT_PUBLIC_KEY_FILE=${path.join(cluster.dir, 'audit-signing.pub')}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

async function run(): Promise<void> {
  const logger = createLogger(process.env.CORDON_LOG_LEVEL ?? 'info');
  rmSync(DIR, { recursive: true, force: true });
  const starting = new AbortController();
  let cluster: Cluster | undefined;
  const stop = async (reason: string) => {
    logger.info({ reason }, 'cluster: stopping');
    // During start-up the abort makes startCluster stop what it started, then throw.
    if (!cluster) return starting.abort(new Error(`stopped by ${reason} during start-up`));
    await cluster.stop();
    logger.info('cluster: stopped');
    logger.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
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
