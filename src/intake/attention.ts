// How many open cases need a human, by category: read from Temporal's visibility store (the
// cases' outcome and attention search attributes) when `/metrics` is scraped.
import type { Client } from '@temporalio/client';
import { attentionCategory, ATTENTION_CATEGORIES, type AttentionCategory } from '../domain/attention';
import { ATTENTION } from '../temporal/searchAttributes';

// A scrape reads at most this many cases; a backlog beyond it is a problem the count already shows.
const MAX_CASES = 10_000;
const QUERY = `CordonOutcome = "needs-attention" AND ExecutionStatus = "Running"`;

/** Open cases needing attention, counted by category (every category present, zero or not). */
export async function casesNeedingAttention(
  client: Client,
  deadline: AbortSignal,
): Promise<Map<AttentionCategory, number>> {
  const counts = new Map(ATTENTION_CATEGORIES.map((category) => [category, 0]));
  let seen = 0;
  for await (const execution of client.workflow.list({ query: QUERY, pageSize: 1_000 })) {
    if (deadline.aborted) throw new Error('visibility did not answer in time');
    const category = attentionCategory(execution.typedSearchAttributes.get(ATTENTION) ?? '');
    counts.set(category, counts.get(category)! + 1);
    if (++seen >= MAX_CASES) break;
  }
  return counts;
}
