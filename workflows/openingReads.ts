import type { IdentitySnapshot } from '../activities/connectors/types';
import type { SwitchReading } from '../activities/governor';
import type { IdentityTarget } from '../activities/identity';
import { identitySystem, switchReading } from './activities';

/** Patch id: a new case reads the kill switch and the identity alongside its context load. */
export const OPENING_READS_TOGETHER = 'opening-reads-together';
/**
 * How old (in workflow time, from when the reads were started) the switch reading may be when it
 * is used. Any older, it is read again: the switch must be read just before an action.
 */
const SWITCH_FRESH_FOR_MS = 2_000;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));

/**
 * The reads a case's first action needs, started together with the context load instead of one
 * after another once the plan is known: on an idle stack each step in turn is a task-queue round
 * trip, most of an alert's time to its first action. Each reading is used once; the case drops
 * them before an approval or a pause, and a later action reads again. The snapshot serves
 * whatever its age, since nothing of the case's own has acted yet: it is the state the case
 * found. The switch reading serves only while fresh: under load the case's next task can come
 * seconds later, and then the switch is read again.
 */
export class OpeningReads {
  private readonly startedAt = Date.now();
  private killSwitch?: Promise<Settled<SwitchReading>>;
  private snapshot?: Promise<Settled<IdentitySnapshot>>;

  constructor(target: IdentityTarget) {
    this.killSwitch = settle(switchReading.readKillSwitch());
    this.snapshot = settle(identitySystem.snapshotIdentity(target));
  }

  /** The kill switch as read at the case's start, when still fresh; otherwise undefined. */
  async takeKillSwitch(): Promise<SwitchReading | undefined> {
    const pending = this.killSwitch;
    this.killSwitch = undefined;
    const reading = await pending;
    // No older than the reads' start, so judged once it has arrived, its age is bounded.
    if (!reading || Date.now() - this.startedAt > SWITCH_FRESH_FOR_MS) return undefined;
    return reading.ok ? reading.value : 'unknown';
  }

  /** The identity's snapshot at the case's start (or the failure to take one); undefined once taken. */
  async takeSnapshot(): Promise<IdentitySnapshot | undefined> {
    const pending = this.snapshot;
    this.snapshot = undefined;
    const reading = await pending;
    if (reading && !reading.ok) throw reading.error;
    return reading?.value;
  }
}
