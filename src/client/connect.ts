import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type TLSConfig,
} from '@temporalio/client';
import { dataConverterFor } from '../codec';
import { ConfigError, type Config } from '../config';
import { readApiKeyFile, readPemFile, usesTls } from '../config/deployment';

/** The Temporal frontend address: TEMPORAL_ADDRESS, or the embedded dev server's. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.CORDON_DEV_SERVER_PORT}`;
}

/** Where and how every Cordon process connects to Temporal; both SDK connections take these as they are. */
export interface TemporalConnectionOptions {
  address: string;
  /** `false`: plaintext, also with an API key (the SDK would otherwise turn TLS on for one). */
  tls: TLSConfig | false;
  /** The bearer token, sent as `authorization: Bearer <key>`. */
  apiKey?: string;
}

function pem(variable: string, file: string | undefined, kind: 'certificate' | 'private key'): Buffer | undefined {
  if (!file) return undefined;
  const read = readPemFile(file, kind);
  if ('problem' in read) throw new ConfigError([{ variable, problem: read.problem }]);
  return read.pem;
}

function tlsConfig(config: Config): TLSConfig | false {
  if (!usesTls(config)) return false;
  const crt = pem('TEMPORAL_TLS_CERT_FILE', config.TEMPORAL_TLS_CERT_FILE, 'certificate');
  const key = pem('TEMPORAL_TLS_KEY_FILE', config.TEMPORAL_TLS_KEY_FILE, 'private key');
  return {
    serverRootCACertificate: pem('TEMPORAL_TLS_CA_FILE', config.TEMPORAL_TLS_CA_FILE, 'certificate'),
    clientCertPair: crt && key ? { crt, key } : undefined,
    serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME,
  };
}

/** The API key file's token now; a file that stopped being usable is a configuration error. */
export function currentApiKey(file: string): string {
  const read = readApiKeyFile(file);
  if ('problem' in read) throw new ConfigError([{ variable: 'TEMPORAL_API_KEY_FILE', problem: read.problem }]);
  return read.key;
}

/**
 * The one place that turns settings into connection options: the service's client and worker
 * connections and the CLI's all use it, so TLS and the token are never configured twice. Files
 * are read at each call: a certificate replaced on disk is used by the next connection.
 */
export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  return {
    address: temporalAddress(config),
    tls: tlsConfig(config),
    apiKey: config.TEMPORAL_API_KEY_FILE && currentApiKey(config.TEMPORAL_API_KEY_FILE),
  };
}

const RESOURCE_EXHAUSTED = 8;
const OVERSIZE = /larger than max/i;

/** An answer over the gRPC message limit (RESOURCE_EXHAUSTED "received message larger than max"). */
export function isOversizeAnswer(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    // A gRPC ServiceError, or the status object the retry interceptor is handed: both have these.
    const { code, details } = e as { code?: unknown; details?: unknown };
    if (code === RESOURCE_EXHAUSTED && OVERSIZE.test(String(details ?? ''))) return true;
  }
  return false;
}

const sdkRetries = defaultGrpcRetryOptions();
/**
 * The SDK's retries of transient gRPC failures, except an answer over the message limit: it would
 * be as large the next time (the SDK retries it ten times, as if the server were busy).
 */
export const retriesExceptOversize = makeGrpcRetryInterceptor({
  ...sdkRetries,
  retryableDecider: (attempt, status) => !isOversizeAnswer(status) && sdkRetries.retryableDecider(attempt, status),
});

/** Opens a Temporal client on the configured namespace, decrypting with this machine's payload keys. */
export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({
    ...temporalConnectionOptions(config),
    connectTimeout: 5_000,
    interceptors: [retriesExceptOversize],
  });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(config) });
}
