// The baselines: bare Temporal workflows doing nothing but no-op activities, so each bench can
// say what Cordon costs on top of Temporal itself on the same server, client and machine.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BareActivities {
  /** Does nothing; the worker notes when it ran. */
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

/** Runs `count` no-op activities one after another; 0: a workflow that only starts and ends. */
export async function bareActivities(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await noop();
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
