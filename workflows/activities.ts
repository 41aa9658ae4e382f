// Activity proxies, declared once with a retry preset per kind of side effect.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Actions on identity systems: retried with backoff; permanent failures are non-retryable. */
const IDENTITY_SYSTEM = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8 },
} as const;

/** Bookkeeping (audit store, context, notifications, governor): fast, many retries. */
const BOOKKEEPING = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
} as const;

export const identitySystem = proxyActivities<Activities>(IDENTITY_SYSTEM);

/** Compensations: retried harder, because a dropped undo leaves an identity cut off. */
export const compensation = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 12 },
});

export const bookkeeping = proxyActivities<Activities>(BOOKKEEPING);

/**
 * Reads (snapshots, verifications, the policy) and idempotent set-up run as local activities:
 * inside the workflow task, without a round trip through the task queue per call. Actions,
 * undos and the audit store stay ordinary activities, visible one by one in the history.
 */
export const identityReads = proxyLocalActivities<Activities>(IDENTITY_SYSTEM);
export const localBookkeeping = proxyLocalActivities<Activities>(BOOKKEEPING);
