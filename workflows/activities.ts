// Activity proxies, declared once with a retry preset per kind of side effect. No local
// activities: with this SDK a query answered mid-task can make a replay hand a local activity's
// result to the workflow one task earlier than the live run did (BENCHMARKS.md, latency).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Actions on identity systems: retried with backoff; permanent failures are non-retryable. */
export const identitySystem = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/** Compensations: retried harder, because a dropped undo leaves an identity cut off. */
export const compensation = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 12 },
});

/** Claiming the destructive-action budget: never guessed, so retried until the database answers. */
export const budgetClaims = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '1 minute' },
});

/** Reading the kill switch: soon given up, because the case then asks the governor by signal. */
export const switchReading = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumAttempts: 2 },
});

/**
 * Storing audit entries: a batch is a few inserts of about a millisecond each, so a write lost
 * with a crashed worker is retried after 10 s instead of holding every later entry back for the
 * bookkeeping timeout.
 */
export const auditStore = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** Bookkeeping (context, notifications, governor): fast, many retries. */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
