// What every role of the service opens, once per process: the audit store and its notary, and the
// Temporal client (whose token, when it has one, is refreshed from its file).
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { AuditNotary } from '../audit/checkpoints';
import { serviceNotary } from '../audit/notary';
import { ApiKeyRefresher } from '../client/apiKeyRefresh';
import { temporalConnectionOptions } from '../client/connect';
import { auditFiles, type Config } from '../config';
import { openDatabase, type Database } from '../db';
import type { Logger } from '../log';
import { registerSearchAttributes } from '../temporal/registerSearchAttributes';

/** One step of shutdown, named for the log; they run in reverse start order. */
export interface Stop {
  step: string;
  run: () => Promise<unknown>;
}

/** What the roles share. */
export interface Service {
  config: Config;
  logger: Logger;
  stops: Stop[];
  db: Database;
  auditNotary: AuditNotary;
  client: Client;
  dataConverter: DataConverter;
  /** Present when the connections carry a token from TEMPORAL_API_KEY_FILE: new ones join it. */
  apiKeys?: ApiKeyRefresher;
}

// Said at start-up: whether the audit tables are protected from the service's own role.
function databaseRoles(config: Config): string {
  if (!config.DATABASE_URL) return 'embedded PGlite is single-user: the audit is protected by signatures only';
  return config.CORDON_MIGRATION_DATABASE_URL
    ? 'the service role may only insert into and read the audit tables'
    : 'the service role owns the tables: set CORDON_MIGRATION_DATABASE_URL to the owner for production';
}

/** Opens the audit store and starts signing checkpoints of its chain heads. */
export async function openAuditStore(config: Config, logger: Logger, stops: Stop[]) {
  const db = await openDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.CORDON_MIGRATION_DATABASE_URL,
    dataDir: config.CORDON_DATA_DIR,
  });
  stops.push({ step: 'audit database closed', run: () => db.close() });
  logger.info({ kind: db.kind, roles: databaseRoles(config) }, 'audit database ready');
  const auditNotary = serviceNotary(config);
  // Stopped after the worker and intake (stops run in reverse): the last checkpoint has their heads.
  const stopCheckpoints = auditNotary.checkpointEvery(config.CORDON_AUDIT_CHECKPOINT_SECONDS * 1000, logger);
  stops.push({ step: 'last audit checkpoint written', run: async () => stopCheckpoints() });
  const { publicKey, checkpoints } = auditFiles(config);
  logger.info(
    { key: auditNotary.signer.publicKey.fingerprint, publicKey, checkpoints },
    'audit chain heads are signed; verify with the public key',
  );
  return { db, auditNotary };
}

/** The service's Temporal client, and the refresher its token (if any) comes from. */
export async function openClient(config: Config, logger: Logger, stops: Stop[], dataConverter: DataConverter) {
  const options = temporalConnectionOptions(config);
  const connection = await Connection.connect(options);
  stops.push({ step: 'client connection closed', run: () => connection.close() });
  let apiKeys: ApiKeyRefresher | undefined;
  if (config.TEMPORAL_API_KEY_FILE && options.apiKey) {
    apiKeys = new ApiKeyRefresher(config.TEMPORAL_API_KEY_FILE, options.apiKey, logger);
    apiKeys.add(connection);
    const stopRefreshing = apiKeys.every();
    stops.push({ step: 'token refresh stopped', run: async () => stopRefreshing() });
  }
  if (config.TEMPORAL_ADDRESS && config.CORDON_SEARCH_ATTRIBUTES)
    await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE, logger);
  return { client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter }), apiKeys };
}
