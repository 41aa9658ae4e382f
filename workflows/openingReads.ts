import type { IdentitySnapshot } from '../activities/connectors/types';
import type { IdentityTarget } from '../activities/identity';
import { identitySystem, switchReading } from './activities';

/** Patch id: a new case reads the kill switch and the identity alongside its context load. */
export const OPENING_READS_TOGETHER = 'opening-reads-together';
/**
 * How old (in workflow time, from when the reads were started) a reading may be when it is used.
 * A reading any older is read again: the switch must be read just before an action.
 */
const FRESH_FOR_MS = 2_000;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));

/**
 * The reads a case's first action needs, started together with the context load instead of one
 * after another once the plan is known: on an idle stack each step in turn is a task-queue round
 * trip, most of an alert's time to its first action. Each reading is used once, and only while
 * fresh; the case drops them before an approval or a pause, and a later action reads again.
 */
export class OpeningReads {
  private readonly startedAt = Date.now();
  private killSwitch?: Promise<Settled<'engaged' | 'released' | 'unknown'>>;
  private snapshot?: Promise<Settled<IdentitySnapshot>>;

  constructor(target: IdentityTarget) {
    this.killSwitch = settle(switchReading.readKillSwitch());
    this.snapshot = settle(identitySystem.snapshotIdentity(target));
  }

  /** The kill switch as read at the case's start, when still fresh; otherwise undefined. */
  async takeKillSwitch(): Promise<'engaged' | 'released' | 'unknown' | undefined> {
    const pending = this.killSwitch;
    this.killSwitch = undefined;
    const reading = await this.fresh(pending);
    return reading && (reading.ok ? reading.value : 'unknown');
  }

  /** The identity's snapshot (or the failure to take one), when still fresh; otherwise undefined. */
  async takeSnapshot(): Promise<IdentitySnapshot | undefined> {
    const pending = this.snapshot;
    this.snapshot = undefined;
    const reading = await this.fresh(pending);
    if (reading && !reading.ok) throw reading.error;
    return reading?.value;
  }

  // A reading is no older than the reads' start, so judging it after it arrives bounds its age.
  private async fresh<T>(pending: Promise<Settled<T>> | undefined): Promise<Settled<T> | undefined> {
    const reading = await pending;
    return Date.now() - this.startedAt <= FRESH_FOR_MS ? reading : undefined;
  }
}
