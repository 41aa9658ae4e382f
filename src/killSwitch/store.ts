// The kill switch lives in the store: every action activity reads it in the transaction that
// guards the action, and every move is a hash-chained audit entry naming who made it.
import type { AuditNotary } from '../audit/checkpoints';
import type { AuditEntry } from '../audit/entry';
import { storeSignedHeads } from '../audit/heads';
import type { SignedHead } from '../audit/signing';
import type { Database, Query } from '../db';
import { GENESIS_HASH, hashEntry } from '../domain/auditEntry';

/** The switch as `cordon kill-switch status` shows it. A store that never had one is released. */
export interface KillSwitchState {
  engaged: boolean;
  changedBy?: string;
  reason?: string;
  since?: string;
}

/** Who moves the switch, and why. */
export interface KillSwitchMove {
  engaged: boolean;
  by: string;
  reason?: string;
  /** How `by` proved who they are (`token`, `oidc`); absent, nobody checked (`claim`). */
  method?: string;
}

/** The audit chain of the switch's moves (one chain, beside the cases' chains). */
export const KILL_SWITCH_CHAIN = 'cordon:kill-switch';
// Serializes moves, so the chain's sequence has no gaps or forks.
const KILL_SWITCH_LOCK = 727_003;

type SwitchRow = { engaged: boolean; changed_by: string; reason: string | null; since: Date | string };

const asState = (row?: SwitchRow): KillSwitchState =>
  row
    ? {
        engaged: row.engaged,
        changedBy: row.changed_by,
        ...(row.reason !== null && { reason: row.reason }),
        since: new Date(row.since).toISOString(),
      }
    : { engaged: false };

/** Reads the switch with `query` (a transaction's, when the read guards an action). */
export async function readKillSwitch(query: Query): Promise<KillSwitchState> {
  const { rows } = await query<SwitchRow>('SELECT engaged, changed_by, reason, since FROM kill_switch');
  return asState(rows[0]);
}

/**
 * Moves the switch and appends the move to its audit chain, in one transaction. A release also
 * hands back the cases the switch held, for the caller to wake.
 */
export async function moveKillSwitch(
  db: Database,
  move: KillSwitchMove,
  notary?: AuditNotary,
): Promise<KillSwitchState & { held: string[] }> {
  let signed: SignedHead[] = [];
  const moved = await db.transaction(async (query) => {
    await query('SELECT pg_advisory_xact_lock($1)', [KILL_SWITCH_LOCK]);
    const { rows } = await query<SwitchRow>(
      `INSERT INTO kill_switch (singleton, engaged, changed_by, reason, since) VALUES (true, $1, $2, $3, now())
       ON CONFLICT (singleton) DO UPDATE SET engaged = $1, changed_by = $2, reason = $3, since = now()
       RETURNING engaged, changed_by, reason, since`,
      [move.engaged, move.by, move.reason ?? null],
    );
    const state = asState(rows[0]);
    const entry = await appendMove(query, move, state.since!);
    signed = notary?.signHeads([entry]) ?? [];
    await storeSignedHeads(query, signed);
    const held = move.engaged
      ? []
      : (await query<{ workflow_id: string }>('DELETE FROM kill_switch_waiters RETURNING workflow_id')).rows.map(
          (r) => r.workflow_id,
        );
    return { ...state, held };
  });
  notary?.committed(signed);
  return moved;
}

async function appendMove(query: Query, move: KillSwitchMove, at: string): Promise<AuditEntry> {
  const { rows } = await query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_entries WHERE workflow_id = $1 ORDER BY seq DESC LIMIT 1',
    [KILL_SWITCH_CHAIN],
  );
  const body: Omit<AuditEntry, 'hash'> = {
    workflowId: KILL_SWITCH_CHAIN,
    chain: KILL_SWITCH_CHAIN,
    runId: KILL_SWITCH_CHAIN,
    seq: (rows[0]?.seq ?? 0) + 1,
    at,
    identity: '*',
    stage: 'kill-switch',
    event: move.engaged ? 'kill-switch.engaged' : 'kill-switch.released',
    actor: move.by,
    ...(move.reason !== undefined && { reason: move.reason }),
    result: { verified: (move.method ?? 'claim') !== 'claim', method: move.method ?? 'claim' },
    alertIds: [],
    evidence: [],
    frameworks: ['NIST CSF RS.MA-01'],
    prevHash: rows[0]?.hash ?? GENESIS_HASH,
  };
  const entry = { ...body, hash: hashEntry(body) };
  await query(
    `INSERT INTO audit_entries (workflow_id, run_id, seq, hash, prev_hash, entry) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
    [entry.workflowId, entry.runId, entry.seq, entry.hash, entry.prevHash, JSON.stringify(entry)],
  );
  return entry;
}
