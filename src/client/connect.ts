import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { dataConverterFor } from '../codec';
import type { Config } from '../config';

/** The Temporal frontend address: TEMPORAL_ADDRESS, or the embedded dev server's. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.CORDON_DEV_SERVER_PORT}`;
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
    address: temporalAddress(config),
    connectTimeout: 5_000,
    interceptors: [retriesExceptOversize],
  });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(config) });
}
