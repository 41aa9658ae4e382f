// How a bench reaches a Temporal server: the TEMPORAL_* settings every Cordon process reads. The
// bench's own client and the bare worker turn them into connection options the way Cordon does
// (src/client/connect.ts), so TLS and tokens are configured in one place.
import { Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../../src/client/connect';
import type { Cluster } from '../../src/cluster';
import { loadConfig } from '../../src/config';

/** TEMPORAL_ADDRESS and, on a secured server, TEMPORAL_TLS_*_FILE and TEMPORAL_API_KEY_FILE. */
export type ServerAccess = Record<string, string>;

/** The dev server: plain loopback. */
export const devServerAccess = (address: string): ServerAccess => ({ TEMPORAL_ADDRESS: address });

/** The cluster's frontend as `who`: mutual TLS with its certificate, and its token. */
export function clusterAccess(cluster: Cluster, who: 'cordon' | 'operator'): ServerAccess {
  return {
    TEMPORAL_ADDRESS: cluster.frontend.address,
    TEMPORAL_TLS_CA_FILE: cluster.certs.ca,
    TEMPORAL_TLS_CERT_FILE: cluster.certs[who].cert,
    TEMPORAL_TLS_KEY_FILE: cluster.certs[who].key,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_API_KEY_FILE: cluster.tokens[who],
  };
}

/** Connection options from `access`, checked as Cordon checks its own (a bad file is named). */
export const connectionOptions = (access: Record<string, string | undefined>) =>
  temporalConnectionOptions(loadConfig(access));

export const connectTo = (access: ServerAccess) =>
  Connection.connect({ ...connectionOptions(access), connectTimeout: 10_000 });
