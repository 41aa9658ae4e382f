import path from 'node:path';
import { z } from 'zod';
import type { ConnectorSettings } from '../../activities/connectors/types';
import { deploymentProblems } from './deployment';
import { ConfigError } from './error';

export { ConfigError };

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((v) => v === 'true');
const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/**
 * Every setting Cordon reads, keyed by the environment variable that sets it.
 * The README's configuration table is this schema in prose: keep them together.
 */
export const ConfigSchema = z.object({
  TEMPORAL_ADDRESS: optionalText.pipe(
    z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. temporal:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  // An external Temporal's TLS (any of these turns it on) and bearer token (src/config/deployment.ts).
  TEMPORAL_TLS: optionalText.pipe(
    z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
  ),
  TEMPORAL_TLS_CA_FILE: optionalText,
  TEMPORAL_TLS_CERT_FILE: optionalText,
  TEMPORAL_TLS_KEY_FILE: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TEMPORAL_API_KEY_FILE: optionalText,
  /** What this process runs: the worker, the HTTP intake, or both (one process, the default). */
  CORDON_ROLE: z.enum(['worker', 'intake', 'both']).default('both'),
  CORDON_TASK_QUEUE: z.string().trim().min(1).default('cordon'),
  CORDON_DEV_SERVER_PORT: port(7233),
  CORDON_UI_PORT: port(8233),
  CORDON_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  CORDON_HTTP_PORT: port(8080),
  CORDON_DATA_DIR: z.string().trim().min(1).default('.cordon'),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  // The owner role, for migrations: then DATABASE_URL's role needs only the grants in README.
  CORDON_MIGRATION_DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  /** Ed25519 private key (PEM or raw 32 bytes) that signs audit chain heads; unset: created in the data dir. */
  CORDON_AUDIT_SIGNING_KEY_FILE: optionalText,
  /** The public half, for `audit verify` (default: beside the embedded key in the data dir). */
  CORDON_AUDIT_PUBLIC_KEY_FILE: optionalText,
  /** Append-only JSON lines of signed checkpoints of every chain head. */
  CORDON_AUDIT_CHECKPOINT_FILE: optionalText,
  CORDON_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Bearer token of the audit read API; unset: the service writes one per start to the data dir. */
  CORDON_AUDIT_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  CORDON_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  CORDON_TEMPORAL_CLI: optionalText,
  CORDON_TEMPORAL_TEST_SERVER: optionalText,
  CORDON_WORKFLOW_BUNDLE: optionalText,
  CORDON_UI_URL: optionalText.pipe(z.url().optional()),
  CORDON_POLICY_FILE: z.string().trim().min(1).default('config/policy.yaml'),
  CORDON_INVENTORY_FILE: z.string().trim().min(1).default('config/inventory.yaml'),
  CORDON_SEARCH_ATTRIBUTES: flag('true'),
  CORDON_NOTIFY_WEBHOOK_URL: optionalText.pipe(z.url().optional()),
  CORDON_SOURCES_FILE: optionalText,
  /** Approvers and their credentials (tokens, Slack ids, an OIDC issuer); without it nobody can use the decision API. */
  CORDON_APPROVERS_FILE: optionalText,
  /** Where `cordon approve --token` and friends reach the intake (default: the local one). */
  CORDON_INTAKE_URL: optionalText.pipe(z.url().optional()),
  /** Slack's signing secret for interactive callbacks (`POST /v1/slack/actions`). */
  CORDON_SLACK_SIGNING_SECRET: optionalText,
  /** The Slack workspace (`T…`) whose button clicks count; unset = any the app is installed in. */
  CORDON_SLACK_TEAM_ID: optionalText,
  /** Where approval requests are posted to Slack (an incoming webhook URL, or a test receiver). */
  CORDON_SLACK_WEBHOOK_URL: optionalText.pipe(z.url().optional()),
  /** A Microsoft Teams incoming webhook: approval requests as Adaptive Cards. */
  CORDON_TEAMS_WEBHOOK_URL: optionalText.pipe(z.url().optional()),
  /** Payload encryption keys, `<id>:<base64 32 bytes>`, comma-separated, newest first. */
  CORDON_PAYLOAD_KEYS: optionalText,
  /** The same, one per line, from a file; unset: `<data dir>/payload-keys`, made on first start. */
  CORDON_PAYLOAD_KEYS_FILE: optionalText,
  // At most 1.5 MiB: Temporal refuses payloads over 2 MB, and the alert travels as one.
  CORDON_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1536 * 1024)
    .default(1024 * 1024),
  // Alert evidence larger than this (canonical JSON) is kept in the store and the alert carries its
  // digest: a case's history grows by a reference, not by what a forwarder chose to send.
  CORDON_EVIDENCE_INLINE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(16 * 1024),
  // Cases the worker keeps in memory; unset, sized from CORDON_WORKER_MEMORY_MIB (worker/cacheSize.ts).
  CORDON_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  // The memory the service may use; unset: the cgroup's limit, else 1 GiB. Bounds the case cache.
  CORDON_WORKER_MEMORY_MIB: z.coerce.number().int().min(512).max(1_048_576).optional(),
  // 0: any free loopback port. The intake's /metrics serves these, so nobody scrapes it directly.
  CORDON_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  // Identity systems (README: "Connectors" lists the least privileges each needs).
  CORDON_OPENBAO_ADDR: optionalText.pipe(z.url().optional()),
  CORDON_OPENBAO_TOKEN: optionalText,
  CORDON_OPENBAO_KV_MOUNT: z.string().trim().min(1).default('secret'),
  CORDON_AWS_REGION: optionalText,
  CORDON_AWS_ENDPOINT: optionalText.pipe(z.url().optional()),
  CORDON_AWS_ROTATION_SECRET_PREFIX: z.string().trim().min(1).default('cordon/rotated/'),
  // Restrict also attaches AWS's managed quarantine policy; off by default (it needs Attach*Policy).
  CORDON_AWS_QUARANTINE_POLICY: flag('false'),
  // The simulated provider made unreliable on purpose (`npm run chaos`, drills): a share of its
  // calls fails transiently, and each waits up to the given latency. Off by default.
  CORDON_SIMULATED_FAULT_RATE: z.coerce.number().min(0).max(1).default(0),
  CORDON_SIMULATED_LATENCY_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  CORDON_GITHUB_API_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).default('https://api.github.com')),
  CORDON_GITHUB_TOKEN: optionalText,
  CORDON_PG_CONNECTOR_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  // The Kubernetes API server and Cordon's credentials there; inside a pod with none of these set,
  // the pod's own service account is used (KUBERNETES_SERVICE_HOST/PORT and its mounted files).
  CORDON_KUBE_API_URL: optionalText.pipe(
    z.url({ protocol: /^https?$/, error: 'must be an https:// (or http://) URL' }).optional(),
  ),
  CORDON_KUBE_TOKEN: optionalText,
  CORDON_KUBE_TOKEN_FILE: optionalText,
  CORDON_KUBE_CA_FILE: optionalText,
  KUBERNETES_SERVICE_HOST: optionalText,
  KUBERNETES_SERVICE_PORT: port(443),
});

/** The validated configuration, with the data directory made absolute. */
export type Config = z.infer<typeof ConfigSchema>;

// Values of these may carry credentials, so errors never echo them.
const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'CORDON_MIGRATION_DATABASE_URL',
  'CORDON_AUDIT_TOKEN',
  'CORDON_GITHUB_TOKEN',
  'CORDON_NOTIFY_WEBHOOK_URL',
  'CORDON_KUBE_TOKEN',
  'CORDON_OPENBAO_TOKEN',
  'CORDON_PAYLOAD_KEYS',
  'CORDON_PG_CONNECTOR_URL',
  'CORDON_SLACK_SIGNING_SECRET',
  'CORDON_SLACK_WEBHOOK_URL',
  'CORDON_TEAMS_WEBHOOK_URL',
]);

function describeProblem(variable: string, message: string, env: Record<string, string | undefined>) {
  if (SECRET_VARIABLES.has(variable)) return message;
  return `${message} (got ${JSON.stringify(env[variable] ?? null)})`;
}

/** Reads and validates the configuration from an environment (defaults to process.env). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(Object.keys(ConfigSchema.shape).map((key) => [key, env[key]]));
  const parsed = ConfigSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? 'environment'),
        problem: describeProblem(String(issue.path[0]), issue.message, env),
      })),
    );
  }
  const data = parsed.data;
  checkKubernetes(data);
  const deployment = deploymentProblems(data);
  if (deployment.length) throw new ConfigError(deployment);
  return {
    ...data,
    CORDON_DATA_DIR: path.resolve(data.CORDON_DATA_DIR),
    CORDON_POLICY_FILE: path.resolve(data.CORDON_POLICY_FILE),
    CORDON_INVENTORY_FILE: path.resolve(data.CORDON_INVENTORY_FILE),
    CORDON_SOURCES_FILE: data.CORDON_SOURCES_FILE && path.resolve(data.CORDON_SOURCES_FILE),
    CORDON_APPROVERS_FILE: data.CORDON_APPROVERS_FILE && path.resolve(data.CORDON_APPROVERS_FILE),
  };
}

/** Where an in-cluster pod finds its own service account's token and the cluster's CA. */
export const IN_CLUSTER = {
  tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
};

const KUBE_CREDENTIALS = ['CORDON_KUBE_TOKEN', 'CORDON_KUBE_TOKEN_FILE', 'CORDON_KUBE_CA_FILE'] as const;

/** Kubernetes credentials without a server, or a server without a token, name what is missing. */
function checkKubernetes(data: z.infer<typeof ConfigSchema>): void {
  const given = KUBE_CREDENTIALS.filter((name) => data[name] !== undefined);
  if (!data.CORDON_KUBE_API_URL && given.length) {
    throw new ConfigError([
      { variable: 'CORDON_KUBE_API_URL', problem: `is required when ${given.join(', ')} is set` },
    ]);
  }
  if (data.CORDON_KUBE_API_URL && !data.CORDON_KUBE_TOKEN && !data.CORDON_KUBE_TOKEN_FILE) {
    throw new ConfigError([
      { variable: 'CORDON_KUBE_TOKEN_FILE', problem: 'is required with CORDON_KUBE_API_URL (or CORDON_KUBE_TOKEN)' },
    ]);
  }
}

/** The Kubernetes connector's settings: explicit, in-cluster when only the pod's environment says so, else none. */
function kubernetesSettings(config: Config): ConnectorSettings['kubernetes'] {
  if (config.CORDON_KUBE_API_URL) {
    return {
      server: config.CORDON_KUBE_API_URL,
      token: config.CORDON_KUBE_TOKEN,
      tokenFile: config.CORDON_KUBE_TOKEN_FILE,
      caFile: config.CORDON_KUBE_CA_FILE,
    };
  }
  const host = config.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${config.KUBERNETES_SERVICE_PORT}`;
  return { server, ...IN_CLUSTER };
}

/** Where the audit's signing key, public key and checkpoints live (defaults under the data dir). */
export function auditFiles(config: Config) {
  const inData = (name: string) => path.join(config.CORDON_DATA_DIR, name);
  const resolved = (file: string | undefined) => file && path.resolve(file);
  return {
    /** Set: the operator provides the key. Unset: the service creates one in the data dir. */
    signingKey: resolved(config.CORDON_AUDIT_SIGNING_KEY_FILE),
    embeddedSigningKey: inData('audit-signing-key.pem'),
    publicKey: resolved(config.CORDON_AUDIT_PUBLIC_KEY_FILE) ?? inData('audit-signing-key.pub.pem'),
    checkpoints: resolved(config.CORDON_AUDIT_CHECKPOINT_FILE) ?? inData('audit-checkpoints.jsonl'),
  };
}

/** The Temporal Web UI base URL that notifications and the README link to. */
export function uiUrl(config: Config): string {
  return config.CORDON_UI_URL ?? `http://127.0.0.1:${config.CORDON_UI_PORT}`;
}

/** Where the Web UI's pages come from: they call the intake's codec from the browser. */
export function uiOrigins(config: Config): string[] {
  const origin = new URL(uiUrl(config)).origin;
  return [
    ...new Set([
      origin,
      origin.replace('//127.0.0.1:', '//localhost:'),
      origin.replace('//localhost:', '//127.0.0.1:'),
    ]),
  ];
}

/** The identity systems configured in the environment; each connector needs all of its settings. */
export function connectorSettings(config: Config): ConnectorSettings {
  const settings: ConnectorSettings = {};
  if (config.CORDON_OPENBAO_ADDR && config.CORDON_OPENBAO_TOKEN) {
    settings.openbao = {
      address: config.CORDON_OPENBAO_ADDR,
      token: config.CORDON_OPENBAO_TOKEN,
      kvMount: config.CORDON_OPENBAO_KV_MOUNT,
    };
  }
  if (config.CORDON_AWS_REGION) {
    settings.aws = {
      region: config.CORDON_AWS_REGION,
      endpoint: config.CORDON_AWS_ENDPOINT,
      rotationSecretPrefix: config.CORDON_AWS_ROTATION_SECRET_PREFIX,
      quarantinePolicy: config.CORDON_AWS_QUARANTINE_POLICY,
    };
  }
  if (config.CORDON_PG_CONNECTOR_URL) settings.postgres = { url: config.CORDON_PG_CONNECTOR_URL };
  const kubernetes = kubernetesSettings(config);
  if (kubernetes) settings.kubernetes = kubernetes;
  if (config.CORDON_GITHUB_TOKEN)
    settings.github = { apiUrl: config.CORDON_GITHUB_API_URL, token: config.CORDON_GITHUB_TOKEN };
  if (config.CORDON_SIMULATED_FAULT_RATE || config.CORDON_SIMULATED_LATENCY_MS) {
    settings.simulated = {
      faultRate: config.CORDON_SIMULATED_FAULT_RATE,
      latencyMs: config.CORDON_SIMULATED_LATENCY_MS,
    };
  }
  return settings;
}
