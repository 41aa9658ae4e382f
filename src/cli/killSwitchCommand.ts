// `cordon kill-switch engage|release|status`: through the running service when it owns the
// embedded store, else on the store directly (PostgreSQL, or the data folder of a stopped service).
import { runningService } from '../audit/access';
import type { AuditNotary } from '../audit/checkpoints';
import { localNotary } from '../audit/notary';
import { connectClient } from '../client/connect';
import { loadConfig, type Config } from '../config';
import { openDatabase } from '../db';
import { moveKillSwitch, readKillSwitch, wakeHeld } from '../killSwitch';
import type { KillSwitchMove } from '../killSwitch/store';
import { ApproverDirectory } from '../approvers/authenticate';
import { controlRefusal, type KillSwitchAction } from '../domain/decisions';
import { loadPolicy } from '../policy/load';
import { UsageError } from './errors';

async function throughService(url: string, token?: string, init?: { method: 'POST'; body: string }): Promise<unknown> {
  const headers = { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) };
  const res = await fetch(`${url}/v1/kill-switch`, init && { ...init, headers });
  const body = (await res.json()) as { error?: string; problems?: { field: string; message: string }[] };
  if (res.status >= 400 && res.status < 500)
    throw new UsageError(
      `kill-switch: ${body.error}: ${body.problems?.map((p) => `${p.field} ${p.message}`).join('; ')}`,
    );
  if (!res.ok) throw new Error(`the service answered ${res.status}: ${body.error}`);
  return body;
}

// Who moves the switch on the store directly: the token's owner (checked against the approvers
// file), or in claimed mode the name given; either must be in the policy's groups for the move.
async function mover(config: Config, action: KillSwitchAction, opts: { as?: string; token?: string }) {
  const policy = loadPolicy(config.CORDON_POLICY_FILE);
  let who: { by: string; method: string };
  if (opts.token) {
    const approvers = config.CORDON_APPROVERS_FILE
      ? ApproverDirectory.load(config.CORDON_APPROVERS_FILE)
      : new ApproverDirectory({ approvers: [] });
    const auth = await approvers.authenticate(`Bearer ${opts.token}`);
    if (!auth.ok) throw new UsageError(`kill-switch ${action}: ${auth.reason}`);
    who = { by: auth.approver.name, method: auth.approver.method };
  } else if (policy.decisions.mode === 'verified') {
    throw new UsageError(`kill-switch ${action}: the policy's decisions mode is verified: give --token`);
  } else if (!opts.as) {
    throw new UsageError(`kill-switch ${action} needs --token or --as WHO`);
  } else who = { by: opts.as, method: 'claim' };
  const refusal = controlRefusal(policy, action, who.by);
  if (refusal) throw new UsageError(`kill-switch ${action}: ${refusal.reason}`);
  return who;
}

async function onStore(config: Config, move?: KillSwitchMove): Promise<unknown> {
  const db = await openDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.CORDON_MIGRATION_DATABASE_URL,
    dataDir: config.CORDON_DATA_DIR,
  });
  try {
    if (!move) return await readKillSwitch(db.query);
    // The switch moves first: an emergency stop must not wait for Temporal to be reachable.
    const notary = localNotary(config);
    const { held, ...state } = await moveKillSwitch(db, move, notary);
    writeCheckpoint(notary);
    return { ...state, woken: held.length ? await wake(config, held) : 0 };
  } finally {
    await db.close();
  }
}

// The move's signed head goes to the checkpoints file too; without the key the move is stored
// unsigned, and `audit verify` will say so.
function writeCheckpoint(notary: AuditNotary | undefined): void {
  if (!notary) {
    console.error('cordon: the audit signing key is not readable here: the move is stored unsigned');
    return;
  }
  try {
    notary.writeCheckpoint();
  } catch (err) {
    console.error(`cordon: the audit checkpoint was not written: ${(err as Error).message}`);
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

/** Shows or moves the kill switch; moving it needs `--token` (or CORDON_APPROVER_TOKEN), or `--as WHO` in claimed mode. */
export function killSwitch(action: string, opts: { as?: string; token?: string; reason?: string }) {
  if (action !== 'engage' && action !== 'release' && action !== 'status')
    throw new UsageError(`kill-switch: unknown action "${action}" (engage, release, status)`);
  const token = opts.token ?? process.env.CORDON_APPROVER_TOKEN;
  return async (): Promise<unknown> => {
    const config = loadConfig();
    const service = runningService(config);
    if (service) {
      const body = action === 'status' ? undefined : JSON.stringify({ action, by: opts.as, reason: opts.reason });
      return throughService(service, token, body === undefined ? undefined : { method: 'POST', body });
    }
    if (action === 'status') return onStore(config);
    const who = await mover(config, action, { as: opts.as, token });
    return onStore(config, { engaged: action === 'engage', reason: opts.reason, ...who });
  };
}
