// Starts what this process's role (CORDON_ROLE) runs: the worker, the intake, or both, on the
// embedded Temporal and PGlite unless TEMPORAL_ADDRESS and DATABASE_URL name shared ones.
import type { ApproverDirectory } from '../approvers/authenticate';
import { claimDataDir, usesDataDir, type DataDirClaim } from '../audit/access';
import { API_KEY_REFRESH_MS } from '../client/apiKeyRefresh';
import { temporalAddress } from '../client/connect';
import { dataConverterFor } from '../codec';
import { connectorSettings, uiUrl, type Config } from '../config';
import { usesTls } from '../config/deployment';
import type { Source } from '../intake/sources';
import type { Logger } from '../log';
import { freePort } from '../net';
import { loadPolicy } from '../policy/load';
import { startSandbox } from '../sandbox';
import { startEmbeddedServer } from '../temporal/embeddedServer';
import { installRuntime } from '../../worker/runtime';
import { serveIntake } from './intake';
import { openAuditStore, openClient, type Service, type Stop } from './shared';
import { runWorker } from './worker';

/** The checked settings a service starts from. */
export interface Settings {
  config: Config;
  sources?: Source[];
  approvers: ApproverDirectory;
  /** `--sandbox`: local identity systems seeded with the bundled examples' identities. */
  sandbox: boolean;
}

// Started before anything else, and stopped last; a stop during start-up waits for it, then stops it.
async function startLocalSystems(logger: Logger, stops: Stop[]) {
  const starting = startSandbox(logger);
  stops.push({ step: 'sandbox stopped', run: async () => (await starting.catch(() => undefined))?.stop() });
  const local = await starting;
  logger.info(local.systems, "sandbox: local identity systems seeded with the examples' identities");
  return local;
}

// Said at start-up: whether a name in a signal counts as that person.
function decisionMode(config: Config): string {
  return loadPolicy(config.CORDON_POLICY_FILE).decisions.mode === 'verified'
    ? 'verified: only authenticated decisions (the decision API, signed Slack callbacks) count'
    : 'claimed: a decision counts for the person it names; set decisions.mode: verified in the policy for production';
}

// The start-up line: what this process runs and where, in words an operator can check.
function runningSummary({ config, dataConverter, apiKeys }: Service, settings: Settings, workerMetrics?: string) {
  const intake = config.CORDON_ROLE !== 'worker';
  return {
    role: config.CORDON_ROLE,
    ...(intake && { intake: `http://${config.CORDON_HTTP_HOST}:${config.CORDON_HTTP_PORT}` }),
    ...(workerMetrics && { workerMetrics }),
    temporal: temporalAddress(config),
    tls: usesTls(config) ? (config.TEMPORAL_TLS_CERT_FILE ? 'mutual (client certificate)' : 'server only') : 'off',
    ...(apiKeys && {
      bearer: `${apiKeys.fingerprint}, re-read from TEMPORAL_API_KEY_FILE every ${API_KEY_REFRESH_MS / 1000} s`,
    }),
    namespace: config.TEMPORAL_NAMESPACE,
    ui: config.TEMPORAL_ADDRESS ? config.CORDON_UI_URL : uiUrl(config),
    taskQueue: config.CORDON_TASK_QUEUE,
    ...(intake && { sources: settings.sources?.map((s) => s.name) ?? 'none: loopback clients only, unauthenticated' }),
    decisions: decisionMode(config),
    payloads: dataConverter.payloadCodecs?.length
      ? `encrypted (AES-256-GCM)${intake ? '; the Web UI decodes through /codec on loopback' : ''}`
      : 'unencrypted: no key',
  };
}

// The embedded dev server, when no external Temporal is named; its Web UI decodes through our intake.
async function startEmbeddedTemporal(
  config: Config,
  logger: Logger,
  stops: Stop[],
  encrypted: boolean,
  claim?: DataDirClaim,
) {
  const codecEndpoint = encrypted ? `http://127.0.0.1:${config.CORDON_HTTP_PORT}/codec` : undefined;
  const server = await startEmbeddedServer(config, logger, codecEndpoint);
  if (server.pid) claim?.devServer(server.pid);
  stops.push({ step: 'dev server stopped', run: () => server.stop() });
}

// Claimed first and released last: the CLI never opens the embedded stores beside us, and a next
// start knows whether we stopped cleanly.
async function claimEmbeddedStores(config: Config, logger: Logger, stops: Stop[]) {
  if (!usesDataDir(config)) return undefined;
  const claim = await claimDataDir(config, logger);
  stops.push({ step: 'data dir released', run: async () => claim.release() });
  return claim;
}

/** Starts the role's parts in order; `workerDone` (when this process runs a worker) settles when it stops. */
export async function startService(settings: Settings, logger: Logger, stops: Stop[]) {
  const { config } = settings;
  const claim = await claimEmbeddedStores(config, logger, stops);
  const runsWorker = config.CORDON_ROLE !== 'intake';
  // The worker's runtime comes first: its metrics port, and the native connections after it.
  const metricsPort = runsWorker ? config.CORDON_WORKER_METRICS_PORT || (await freePort()) : undefined;
  if (runsWorker) installRuntime(logger, { metricsPort });
  // The sandbox's systems replace every configured one: its examples never reach a real system.
  const connectors = settings.sandbox ? (await startLocalSystems(logger, stops)).connectors : connectorSettings(config);
  const dataConverter = dataConverterFor(config, { create: true });
  if (!config.TEMPORAL_ADDRESS)
    await startEmbeddedTemporal(config, logger, stops, Boolean(dataConverter.payloadCodecs?.length), claim);
  const store = await openAuditStore(config, logger, stops);
  const service: Service = {
    config,
    logger,
    stops,
    ...store,
    ...(await openClient(config, logger, stops, dataConverter)),
    dataConverter,
  };
  const worker = runsWorker ? { connectors, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : undefined;
  const workerDone = worker && (await runWorker(service, worker.connectors)).workerDone;
  if (config.CORDON_ROLE !== 'worker')
    await serveIntake(service, { sources: settings.sources, approvers: settings.approvers, worker });
  logger.info(runningSummary(service, settings, worker?.metricsUrl), 'cordon is running');
  return { workerDone };
}
