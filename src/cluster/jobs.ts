// The one-shot jobs of docker-compose.yml, run from the Cordon image:
//   credentials DIR [--host NAME]... [--renew]   certificates, JWKS, tokens and keys (credentials.ts)
//   namespace                                    registers the namespace and Cordon's search attributes
// `namespace` reaches the frontend at TEMPORAL_ADDRESS with the TEMPORAL_TLS_*_FILE certificates
// and the admin token in TEMPORAL_API_KEY_FILE. Exit 2 on bad arguments or settings.
import { parseArgs } from 'node:util';
import { createLogger } from '../log';
import { writeClusterCredentials } from './credentials';
import { CLUSTER_NAMESPACE, connectFrontend, prepareNamespace, retryUntil } from './namespace';

class UsageError extends Error {}

// A first start of the Temporal containers may take minutes on a small machine.
const FRONTEND_TIMEOUT_MS = 300_000;

async function credentials(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { host: { type: 'string', multiple: true }, renew: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('credentials takes one directory');
  const [dir] = positionals;
  const { issued } = await writeClusterCredentials(dir, { hosts: values.host ?? [], renew: values.renew });
  console.error(issued ? `credentials issued in ${dir}` : `credentials in ${dir} kept (--renew replaces them)`);
}

function setting(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new UsageError(`${name} is required`);
  return value;
}

async function namespace(): Promise<void> {
  const logger = createLogger(process.env.CORDON_LOG_LEVEL ?? 'info');
  const access = {
    address: setting('TEMPORAL_ADDRESS'),
    ca: setting('TEMPORAL_TLS_CA_FILE'),
    cert: setting('TEMPORAL_TLS_CERT_FILE'),
    key: setting('TEMPORAL_TLS_KEY_FILE'),
  };
  const tokenFile = setting('TEMPORAL_API_KEY_FILE');
  const nothingToWatch = () => undefined;
  const connection = await retryUntil(
    `no answer from the frontend at ${access.address}`,
    () => connectFrontend(access, tokenFile),
    nothingToWatch,
    FRONTEND_TIMEOUT_MS,
  );
  try {
    const options = { namespace: CLUSTER_NAMESPACE, logger, alive: nothingToWatch, timeoutMs: FRONTEND_TIMEOUT_MS };
    await prepareNamespace(connection, options);
  } finally {
    await connection.close();
  }
  logger.info({ namespace: CLUSTER_NAMESPACE }, 'namespace ready: registered, search attributes served');
  logger.flush();
}

async function run([job, ...args]: string[]): Promise<void> {
  if (job === 'credentials') return credentials(args);
  if (job === 'namespace') return namespace();
  throw new UsageError(`unknown job ${JSON.stringify(job ?? '')}: credentials or namespace`);
}

run(process.argv.slice(2)).catch((err: Error) => {
  // parseArgs names the bad option in a TypeError with an ERR_PARSE_ARGS_* code.
  const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  console.error(`cordon cluster job: ${err.message}`);
  process.exit(usage ? 2 : 1);
});
