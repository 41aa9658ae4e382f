import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec';
import type { Config } from '../config';

/** The Temporal frontend address: TEMPORAL_ADDRESS, or the embedded dev server's. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.CORDON_DEV_SERVER_PORT}`;
}

/** Opens a Temporal client on the configured namespace, decrypting with this machine's payload keys. */
export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(config), connectTimeout: 5_000 });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(config) });
}
