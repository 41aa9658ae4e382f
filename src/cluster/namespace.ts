// The cluster's namespace, made ready with the admin token: registered, then Cordon's search
// attributes, each waited for (a new cluster's services join for a while before they serve).
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporalConnectionOptions } from '../client/connect';
import { loadConfig, type Config } from '../config';
import type { Logger } from '../log';
import { registerSearchAttributes } from '../temporal/registerSearchAttributes';
import { SEARCH_ATTRIBUTES } from '../temporal/searchAttributes';

/** The one namespace of the cluster; its tokens grant `default:write` and `default:read`. */
export const CLUSTER_NAMESPACE = 'default';

/** How a client reaches the frontend: mutual TLS with one of the cluster's client certificates. */
export interface FrontendAccess {
  address: string;
  ca: string;
  cert: string;
  key: string;
}

/** The settings a Cordon process would have to reach the frontend with `access` and the JWT in `tokenFile`. */
export function frontendSettings(access: FrontendAccess, tokenFile?: string): Config {
  return loadConfig({
    TEMPORAL_ADDRESS: access.address,
    TEMPORAL_TLS_CA_FILE: access.ca,
    TEMPORAL_TLS_CERT_FILE: access.cert,
    TEMPORAL_TLS_KEY_FILE: access.key,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    ...(tokenFile && { TEMPORAL_API_KEY_FILE: tokenFile }),
  });
}

/**
 * A connection to the frontend as a Cordon process makes one (`temporalConnectionOptions`), with
 * the JWT in `tokenFile` (none: a client without a token).
 */
export function connectFrontend(access: FrontendAccess, tokenFile?: string): Promise<Connection> {
  return Connection.connect({
    ...temporalConnectionOptions(frontendSettings(access, tokenFile)),
    connectTimeout: 10_000,
  });
}

/** `attempt` again every 500 ms until it succeeds; after `timeoutMs`, its last error says why not. */
export async function retryUntil<T>(what: string, attempt: () => Promise<T>, alive: () => void, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      alive();
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const ALREADY_EXISTS = 6;

/**
 * Registers `namespace` and Cordon's search attributes, and returns once both are served.
 * `alive` throws when a service has exited: then nothing is worth waiting for.
 */
export async function prepareNamespace(
  connection: Connection,
  {
    namespace,
    logger,
    alive,
    timeoutMs = 180_000,
  }: { namespace: string; logger: Logger; alive: () => void; timeoutMs?: number },
): Promise<void> {
  await retryUntil(
    `namespace ${namespace} not registered`,
    () =>
      connection.workflowService
        .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') })
        .catch((err: { code?: number }) => {
          if (err.code !== ALREADY_EXISTS) throw err;
        }),
    alive,
    timeoutMs,
  );
  await retryUntil(
    'search attributes not served',
    async () => {
      await registerSearchAttributes(connection, namespace, logger);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in (customAttributes ?? {})));
      if (missing.length) throw new Error(`missing ${missing.map((key) => key.name).join(', ')}`);
      // The frontend serves a namespace once its cache has it: a read proves it does.
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
    },
    alive,
    timeoutMs,
  );
}
