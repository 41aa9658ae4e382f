import type { Client } from '@temporalio/client';
import type { Database } from '../db';
import type { Logger } from '../log';
import { killSwitchReleasedSignal } from '../../workflows/definitions';
import type { AuditNotary } from '../audit/checkpoints';
import { moveKillSwitch, type KillSwitchMove, type KillSwitchState } from './store';

export { moveKillSwitch, readKillSwitch } from './store';

// Cases told at once on a release: a few thousand held cases must not open thousands of calls.
const WAKE_CONCURRENCY = 20;

/** Tells each held case of the release; returns how many were told. A case not told retries on its own. */
export async function wakeHeld(client: Client, held: string[], logger?: Logger): Promise<number> {
  let woken = 0;
  const queue = [...held];
  const wakeNext = async (): Promise<void> => {
    for (let workflowId = queue.shift(); workflowId; workflowId = queue.shift()) {
      try {
        await client.workflow.getHandle(workflowId).signal(killSwitchReleasedSignal);
        woken += 1;
      } catch (err) {
        logger?.warn(
          { workflowId, err: (err as Error).message },
          'a held case was not told of the release: it retries on its own',
        );
      }
    }
  };
  await Promise.all(Array.from({ length: WAKE_CONCURRENCY }, wakeNext));
  return woken;
}

/**
 * Moves the kill switch and, on a release, tells the cases it held, so they act again now rather
 * than at their next retry.
 */
export async function setKillSwitch(
  db: Database,
  client: Client,
  move: KillSwitchMove,
  logger?: Logger,
  notary?: AuditNotary,
): Promise<KillSwitchState & { woken: number }> {
  const { held, ...state } = await moveKillSwitch(db, move, notary);
  return { ...state, woken: await wakeHeld(client, held, logger) };
}
