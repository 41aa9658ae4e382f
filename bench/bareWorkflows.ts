// The baselines: bare Temporal workflows doing nothing but no-op activities, so each bench can
// say what Cordon costs on top of Temporal itself on the same server, client and machine.
import { condition, defineSignal, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface BareActivities {
  /** Does nothing; the worker notes when it ran. */
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

/**
 * Runs `count` no-op activities one after another, and `localCount` local ones between them
 * (the mix a containment runs). 0 and 0: a workflow that only starts and ends.
 */
export async function bareActivities(count: number, localCount = 0): Promise<void> {
  for (let i = 0; i < Math.max(count, localCount); i++) {
    if (i < localCount) await local.noop();
    if (i < count) await noop();
  }
}

export const goSignal = defineSignal('go');

/** One no-op, park until signalled, one more no-op: the bare shape of an approval wait. */
export async function bareParked(): Promise<void> {
  let go = false;
  setHandler(goSignal, () => void (go = true));
  await noop();
  await condition(() => go);
  await noop();
}
