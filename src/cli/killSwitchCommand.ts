// `cordon kill-switch engage|release|status`: through the running service when it owns the
// embedded store, else on the store directly (PostgreSQL, or the data folder of a stopped service).
import { runningService } from '../audit/access';
import { connectClient } from '../client/connect';
import { loadConfig, type Config } from '../config';
import { openDatabase } from '../db';
import { moveKillSwitch, readKillSwitch, wakeHeld } from '../killSwitch';
import { UsageError } from './errors';

async function throughService(url: string, init?: { method: 'POST'; body: string }): Promise<unknown> {
  const res = await fetch(
    `${url}/v1/kill-switch`,
    init && { ...init, headers: { 'content-type': 'application/json' } },
  );
  const body = (await res.json()) as { error?: string; problems?: { field: string; message: string }[] };
  if (res.status === 400)
    throw new UsageError(`kill-switch: ${body.problems?.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  if (!res.ok) throw new Error(`the service answered ${res.status}: ${body.error}`);
  return body;
}

async function onStore(config: Config, move?: { engaged: boolean; by: string; reason?: string }): Promise<unknown> {
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.CORDON_DATA_DIR });
  try {
    if (!move) return await readKillSwitch(db.query);
    // The switch moves first: an emergency stop must not wait for Temporal to be reachable.
    const { held, ...state } = await moveKillSwitch(db, move);
    return { ...state, woken: held.length ? await wake(config, held) : 0 };
  } finally {
    await db.close();
  }
}

// Tells the held cases of a release; without Temporal they retry on their own.
async function wake(config: Config, held: string[]): Promise<number> {
  try {
    const client = await connectClient(config);
    try {
      return await wakeHeld(client, held);
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    console.error(
      `cordon: released, but ${held.length} held cases were not told (${(err as Error).message}): they retry on their own`,
    );
    return 0;
  }
}

/** Shows or moves the kill switch; moving it needs `--as WHO`. */
export function killSwitch(action: string, opts: { as?: string; reason?: string }) {
  if (action !== 'engage' && action !== 'release' && action !== 'status')
    throw new UsageError(`kill-switch: unknown action "${action}" (engage, release, status)`);
  if (action !== 'status' && !opts.as) throw new UsageError(`kill-switch ${action} needs --as WHO`);
  return async (): Promise<unknown> => {
    const config = loadConfig();
    const service = config.DATABASE_URL ? undefined : runningService(config);
    const move = action === 'status' ? undefined : { engaged: action === 'engage', by: opts.as!, reason: opts.reason };
    if (service)
      return throughService(
        service,
        move && { method: 'POST', body: JSON.stringify({ action, by: move.by, reason: move.reason }) },
      );
    return onStore(config, move);
  };
}
