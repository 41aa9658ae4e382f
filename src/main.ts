// `npm start`: the whole service. Embedded Temporal unless TEMPORAL_ADDRESS is set, then the
// worker and the intake HTTP server; SIGINT/SIGTERM drain them in reverse order.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { auditFiles, ConfigError, connectorSettings, loadConfig, uiOrigins, uiUrl, type Config } from './config';
import { dataConverterFor } from './codec';
import { temporalAddress } from './client/connect';
import { claimDataDir } from './audit/access';
import { serviceNotary, signingKeyProblem } from './audit/notary';
import { serviceAuditToken } from './audit/token';
import { openDatabase } from './db';
import { ConfigFileError, loadInventory, loadPolicy } from './policy/load';
import { isLoopback } from './intake/authenticate';
import { ApproverDirectory } from './approvers/authenticate';
import { buildIntake } from './intake/server';
import { loadSources, type Source } from './intake/sources';
import { freePort } from './net';
import { createLogger, type Logger } from './log';
import { startSandbox } from './sandbox';
import { startEmbeddedServer } from './temporal/embeddedServer';
import { registerSearchAttributes } from './temporal/registerSearchAttributes';
import { caseContextSource, trustedConfig } from '../activities/trustedConfig';
import { servedProviders } from '../activities/servedConnectors';
import { loadWorkflowBundle } from '../worker/bundle';
import { installRuntime } from '../worker/runtime';
import { createWorker } from '../worker/worker';
import { capWorkflowHeap, workflowCacheSize } from '../worker/cacheSize';

type Stop = () => Promise<unknown>;

// Bad settings or config files stop start-up with exit code 2, before anything starts.
interface Settings {
  config: Config;
  sources?: Source[];
  approvers: ApproverDirectory;
  /** `--sandbox`: local identity systems seeded with the bundled examples' identities. */
  sandbox: boolean;
}

// The service takes one option. The sandbox's fake credentials and throwaway systems must never
// meet a shared Temporal namespace or audit store: its cases would claim containments of nothing.
function sandboxOption(args: string[], config: Config): boolean {
  const unknown = args.filter((arg) => arg !== '--sandbox');
  if (unknown.length)
    throw new ConfigError([
      { variable: 'arguments', problem: `unknown option ${unknown[0]} (the one option is --sandbox)` },
    ]);
  if (!args.length) return false;
  for (const variable of ['TEMPORAL_ADDRESS', 'DATABASE_URL'] as const)
    if (config[variable])
      throw new ConfigError([
        { variable, problem: 'must be unset with --sandbox: the sandbox runs on its own, locally' },
      ]);
  return true;
}

function configOrExit(): Settings {
  try {
    const config = loadConfig();
    loadPolicy(config.CORDON_POLICY_FILE);
    loadInventory(config.CORDON_INVENTORY_FILE);
    const sources = config.CORDON_SOURCES_FILE ? loadSources(config.CORDON_SOURCES_FILE) : undefined;
    // Unauthenticated intake is for one operator on one machine, never a network.
    if (!sources && !isLoopback(config.CORDON_HTTP_HOST) && config.CORDON_HTTP_HOST !== 'localhost') {
      throw new ConfigError([
        {
          variable: 'CORDON_SOURCES_FILE',
          problem: `required when CORDON_HTTP_HOST (${config.CORDON_HTTP_HOST}) is not loopback: alerts must be authenticated`,
        },
      ]);
    }
    const keyProblem = signingKeyProblem(config);
    if (keyProblem) throw new ConfigError([{ variable: 'CORDON_AUDIT_SIGNING_KEY_FILE', problem: keyProblem }]);
    const approvers = config.CORDON_APPROVERS_FILE
      ? ApproverDirectory.load(config.CORDON_APPROVERS_FILE)
      : new ApproverDirectory({ approvers: [] });
    return { config, sources, approvers, sandbox: sandboxOption(process.argv.slice(2), config) };
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const { variable, problem } of err.problems) console.error(`cordon: invalid ${variable}: ${problem}`);
    } else if (err instanceof ConfigFileError) {
      console.error(`cordon: ${err.message}`);
    } else throw err;
    process.exit(2);
  }
}

// Started before anything else, and stopped last; a stop during start-up waits for it, then stops it.
async function startLocalSystems(logger: Logger, stops: Stop[]) {
  const starting = startSandbox(logger);
  stops.push(async () => (await starting.catch(() => undefined))?.stop());
  const local = await starting;
  logger.info(local.systems, "sandbox: local identity systems seeded with the examples' identities");
  return local;
}

// Said at start-up: whether the audit tables are protected from the service's own role.
function databaseRoles(config: Config): string {
  if (!config.DATABASE_URL) return 'embedded PGlite is single-user: the audit is protected by signatures only';
  return config.CORDON_MIGRATION_DATABASE_URL
    ? 'the service role may only insert into and read the audit tables'
    : 'the service role owns the tables: set CORDON_MIGRATION_DATABASE_URL to the owner for production';
}

// Said at start-up: whether a name in a signal counts as that person.
function decisionMode(config: Config): string {
  return loadPolicy(config.CORDON_POLICY_FILE).decisions.mode === 'verified'
    ? 'verified: only authenticated decisions (the decision API, signed Slack callbacks) count'
    : 'claimed: a decision counts for the person it names; set decisions.mode: verified in the policy for production';
}

async function start(
  { config, sources, approvers, sandbox }: Settings,
  logger: Logger,
  stops: Stop[],
): Promise<{ workerDone: Promise<void> }> {
  const metricsPort = config.CORDON_WORKER_METRICS_PORT || (await freePort());
  installRuntime(logger, { metricsPort });
  // The sandbox's systems replace every configured one: its examples never reach a real system.
  const connectors = sandbox ? (await startLocalSystems(logger, stops)).connectors : connectorSettings(config);
  const dataConverter = dataConverterFor(config, { create: true });
  const encrypted = Boolean(dataConverter.payloadCodecs?.length);
  if (!config.TEMPORAL_ADDRESS) {
    const codecEndpoint = encrypted ? `http://127.0.0.1:${config.CORDON_HTTP_PORT}/codec` : undefined;
    const server = await startEmbeddedServer(config, logger, codecEndpoint);
    stops.push(() => server.stop());
  }
  const address = temporalAddress(config);
  const namespace = config.TEMPORAL_NAMESPACE;

  if (!config.DATABASE_URL) {
    // Claimed before opening and released after closing: the CLI never opens it beside us.
    const release = claimDataDir(config);
    stops.push(async () => release());
  }
  const db = await openDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.CORDON_MIGRATION_DATABASE_URL,
    dataDir: config.CORDON_DATA_DIR,
  });
  stops.push(() => db.close());
  logger.info({ kind: db.kind, roles: databaseRoles(config) }, 'audit database ready');
  const auditNotary = serviceNotary(config);
  // Stopped after the worker and intake (stops run in reverse): the last checkpoint has their heads.
  const stopCheckpoints = auditNotary.checkpointEvery(config.CORDON_AUDIT_CHECKPOINT_SECONDS * 1000, logger);
  stops.push(async () => stopCheckpoints());
  const auditToken = serviceAuditToken(config);
  const { publicKey, checkpoints } = auditFiles(config);
  logger.info(
    { key: auditNotary.signer.publicKey.fingerprint, publicKey, checkpoints },
    'audit chain heads are signed; verify with the public key',
  );

  const connection = await Connection.connect({ address });
  stops.push(() => connection.close());
  if (config.TEMPORAL_ADDRESS && config.CORDON_SEARCH_ATTRIBUTES)
    await registerSearchAttributes(connection, namespace, logger);
  const client = new Client({ connection, namespace, dataConverter });

  const workerConnection = await NativeConnection.connect({ address });
  stops.push(() => workerConnection.close());
  const cache = workflowCacheSize(config);
  if (cache.memoryMiB) capWorkflowHeap(cache.memoryMiB);
  logger.info(cache, 'case cache sized: memory stays bounded however many cases are open');
  const worker = await createWorker({
    connection: workerConnection,
    namespace,
    taskQueue: config.CORDON_TASK_QUEUE,
    workflowBundle: await loadWorkflowBundle(config.CORDON_WORKFLOW_BUNDLE),
    db,
    auditNotary,
    client,
    policyFile: config.CORDON_POLICY_FILE,
    inventoryFile: config.CORDON_INVENTORY_FILE,
    uiUrl: uiUrl(config),
    notifyWebhookUrl: config.CORDON_NOTIFY_WEBHOOK_URL,
    slackWebhookUrl: config.CORDON_SLACK_WEBHOOK_URL,
    teamsWebhookUrl: config.CORDON_TEAMS_WEBHOOK_URL,
    connectors,
    maxCachedWorkflows: cache.maxCachedWorkflows,
    dataConverter,
    logger,
  });
  const workerDone = worker.run();
  workerDone.catch(() => undefined); // observed by run() once start-up finishes; never unhandled
  stops.push(async () => {
    worker.shutdown();
    await workerDone;
  });

  const files = { policyFile: config.CORDON_POLICY_FILE, inventoryFile: config.CORDON_INVENTORY_FILE };
  const intake = buildIntake({
    client,
    taskQueue: config.CORDON_TASK_QUEUE,
    logger,
    searchAttributes: config.CORDON_SEARCH_ATTRIBUTES,
    db,
    auditToken,
    auditNotary,
    sources,
    maxBodyBytes: config.CORDON_MAX_BODY_BYTES,
    evidenceInlineBytes: config.CORDON_EVIDENCE_INLINE_BYTES,
    workerMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    // Intake and worker share this process and its files: a new case needs no opening read.
    caseContext: caseContextSource(db, files),
    // The worker's inventory and connectors, from the same files and settings: the intake
    // resolves principals and warns about alerts no connector can act on.
    identities: {
      inventory: trustedConfig(db, files).inventory,
      providers: new Set(servedProviders({ db, settings: connectors })),
    },
    approvers,
    policyFile: config.CORDON_POLICY_FILE,
    slackSigningSecret: config.CORDON_SLACK_SIGNING_SECRET,
    slackTeamId: config.CORDON_SLACK_TEAM_ID,
    codec: encrypted ? { codec: dataConverter.payloadCodecs![0], uiOrigins: uiOrigins(config) } : undefined,
  });
  await intake.listen({ host: config.CORDON_HTTP_HOST, port: config.CORDON_HTTP_PORT });
  stops.push(() => intake.close());

  logger.info(
    {
      intake: `http://${config.CORDON_HTTP_HOST}:${config.CORDON_HTTP_PORT}`,
      temporal: address,
      namespace,
      ui: config.TEMPORAL_ADDRESS ? config.CORDON_UI_URL : uiUrl(config),
      taskQueue: config.CORDON_TASK_QUEUE,
      sources: sources?.map((s) => s.name) ?? 'none: loopback clients only, unauthenticated',
      decisions: decisionMode(config),
      payloads: encrypted
        ? 'encrypted (AES-256-GCM); the Web UI decodes through /codec on loopback'
        : 'unencrypted: no key',
    },
    'cordon is running',
  );
  return { workerDone };
}

async function run(): Promise<void> {
  const settings = configOrExit();
  const { config } = settings;
  const logger = createLogger(config.CORDON_LOG_LEVEL);
  const stops: Stop[] = [];
  let stopping: Promise<void> | undefined;

  // Reverse start order: stop taking alerts, drain the worker, then close what it used.
  const stop = (reason: string, code: number) =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'shutting down');
      for (const step of stops.reverse()) {
        await step().catch((err) => logger.error({ err }, 'shutdown step failed'));
      }
      logger.info({ code }, 'stopped');
      logger.flush();
      process.exit(code);
    })());

  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  try {
    const { workerDone } = await start(settings, logger, stops);
    workerDone.catch((err) => {
      logger.fatal({ err }, 'worker failed');
      void stop('worker failed', 1);
    });
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await stop('start-up failed', 1);
  }
}

void run();
