// Activity proxies, declared once with a retry preset per kind of step. No local activities: with
// this SDK a query answered mid-task can make a replay hand a local activity's result to the
// workflow one task earlier than the live run did (BENCHMARKS.md, latency).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Provider actions: retried with backoff; permanent failures and refusals are not retried. */
export const actions = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/** Undos: retried harder, because a dropped undo leaves an identity cut off. */
export const undos = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 12 },
});

/** Opening a case and reading the identity: fast, many retries (a store outage waits). */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/**
 * Delivering the outbox before a wait: a few inserts of about a millisecond each, so a delivery
 * lost with a crashed worker is retried after 10 s instead of holding the case's audit back for
 * the bookkeeping timeout.
 */
export const outbox = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
