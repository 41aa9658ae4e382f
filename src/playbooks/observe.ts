// What a test can see of a case: its status, its stored audit chain, and the identity as the
// (simulated) identity system has it. Expectations are checked against this, field by field.
import type { Client } from '@temporalio/client';
import { listActions, readState, type SimulatedState } from '../../activities/connectors/simulated/state';
import { readEntries } from '../audit/store';
import type { Database } from '../db';
import type { AuditEntry } from '../domain/auditEntry';
import { STAGE_ORDER } from '../policy/stages';
import { auditQuery, statusQuery, type ContainmentStatus } from '../../workflows/definitions';
import type { Expectation } from './schema';

/** One case as the test sees it after it settled. */
export interface Observed {
  status: ContainmentStatus;
  closed: boolean;
  audit: AuditEntry[];
  actions: string[];
  identity: SimulatedState;
}

// A query the server cannot answer fails the step with this said, rather than hanging the run.
const QUERY_LIMIT_MS = 30_000;

/**
 * A case's status, and whether it has finished. A finished case's status is its result: querying
 * it makes the test server replay it on a worker, which now and then stalls for a minute.
 */
export async function caseStatus(client: Client, workflowId: string) {
  const handle = client.workflow.getHandle(workflowId);
  const closed = (await handle.describe()).status.name !== 'RUNNING';
  const status: ContainmentStatus = closed
    ? await handle.result()
    : await client.withDeadline(Date.now() + QUERY_LIMIT_MS, () => handle.query(statusQuery));
  return { handle, closed, status };
}

// The entries of the case's own chain: a workflow id a closed case used can be used again, and
// the store keeps the old case's chain under it. The newest chain is the running case's.
function currentChain(stored: AuditEntry[], recorded: AuditEntry[]): AuditEntry[] {
  const chain =
    recorded[0]?.chain ??
    stored
      .filter((e) => e.seq === 1)
      .sort((a, b) => a.at.localeCompare(b.at))
      .at(-1)?.chain;
  const own = stored.filter((e) => e.chain === chain).sort((a, b) => a.seq - b.seq);
  const storedUpTo = own.at(-1)?.seq ?? 0;
  return [...own, ...recorded.filter((e) => e.seq > storedUpTo)];
}

/**
 * Reads everything an expectation can ask about one case. Its audit is the stored chain plus what
 * a running case recorded and has not delivered yet (a quiet case gathers news for a moment before
 * it stores it), so what a test sees does not depend on that moment.
 */
export async function observeCase(client: Client, db: Database, workflowId: string, identityId: string) {
  const { handle, closed, status } = await caseStatus(client, workflowId);
  const [stored, recorded, actions, identity] = await Promise.all([
    readEntries(db, { workflowId }),
    closed ? [] : client.withDeadline(Date.now() + QUERY_LIMIT_MS, () => handle.query(auditQuery)),
    listActions(db, identityId),
    readState(db, identityId),
  ]);
  return { status, closed, audit: currentChain(stored, recorded), actions, identity } satisfies Observed;
}

// The audit events that say a stage did its work (an action, applied or shadowed, or the window).
const STAGE_DONE: Record<string, (e: AuditEntry) => boolean> = {
  'case.opened': (e) => e.stage === 'observe',
  'action.applied': () => true,
  'action.shadowed': () => true,
  'window.elapsed': () => true,
};

/** The stages that did their work, in the order they did it (a stage run in two rounds shows twice). */
export function stagesRan(audit: AuditEntry[]): string[] {
  return audit.filter((e) => STAGE_DONE[e.event]?.(e)).map((e) => e.stage);
}

/** The rules and guards of the policy that shaped a test's cases. */
export interface Reached {
  rules: string[];
  guards: string[];
}

/** What shaped the plans of `workflowIds`: every rule (escalations add theirs) and every guard that forced an approval. */
export async function reachedBy(client: Client, workflowIds: string[]): Promise<Reached> {
  const plans = await Promise.all(workflowIds.map(async (id) => (await caseStatus(client, id)).status.plan));
  const rules = plans.flatMap((p) => p?.rule.split(' + ') ?? []);
  const guards = plans.flatMap(
    (p) => p?.reasons.flatMap((r) => [...r.matchAll(/by guard "([^"]+)"/g)].map((m) => m[1])) ?? [],
  );
  return { rules: [...new Set(rules)], guards: [...new Set(guards)] };
}

/** What the expectation said against what happened, for the first field that differs. */
export interface Mismatch {
  field: string;
  expected: unknown;
  actual: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// Each check reads one field of the expectation; undefined when it holds (or was not asked).
type Check = (want: Expectation, seen: Observed) => Mismatch | undefined;

const exactly =
  (field: keyof Expectation, actual: (seen: Observed) => unknown): Check =>
  (want, seen) => {
    const expected = want[field];
    const got = actual(seen);
    return expected === undefined || same(expected, got) ? undefined : { field, expected, actual: got };
  };

const CHECKS: Check[] = [
  exactly('outcome', (s) => s.status.outcome),
  exactly('closed', (s) => s.closed),
  exactly('waitingFor', (s) => s.status.waitingFor ?? 'nothing'),
  (want, seen) => {
    const request = seen.status.pendingRequest;
    if (want.pending === undefined) return undefined;
    const actual = request ? { stage: request.stage, required: request.required, groups: request.groups } : 'none';
    if (want.pending === 'none' || actual === 'none')
      return want.pending === actual ? undefined : { field: 'pending', expected: want.pending, actual };
    const wanted = { ...actual, ...want.pending };
    return same(wanted, actual) ? undefined : { field: 'pending', expected: want.pending, actual };
  },
  (want, seen) => {
    const ran = stagesRan(seen.audit);
    const skipped = STAGE_ORDER.filter((s) => !ran.includes(s));
    for (const [field, actual] of [
      ['ran', ran],
      ['skipped', skipped],
    ] as const) {
      const expected = want.stages?.[field];
      if (expected && !same(expected, actual)) return { field: `stages.${field}`, expected, actual };
    }
    return undefined;
  },
  exactly('actions', (s) => s.actions),
  exactly('approvals', (s) => s.audit.filter((e) => e.event === 'approval.requested').map((e) => e.stage)),
  (want, seen) => {
    const events = new Set(seen.audit.map((e) => e.event));
    const missing = want.audit?.filter((e) => !events.has(e)) ?? [];
    if (missing.length) return { field: 'audit', expected: missing, actual: [...events] };
    const present = want.notInAudit?.filter((e) => events.has(e)) ?? [];
    return present.length
      ? { field: 'notInAudit', expected: `none of ${present.join(', ')}`, actual: present }
      : undefined;
  },
  (want, seen) => {
    const actual = Object.fromEntries(
      Object.keys(want.identity ?? {}).map((k) => [k, seen.identity[k as keyof SimulatedState]]),
    );
    return want.identity && !same(want.identity, actual)
      ? { field: 'identity', expected: want.identity, actual }
      : undefined;
  },
  (want, seen) =>
    want.attention === undefined || seen.status.attention?.includes(want.attention)
      ? undefined
      : {
          field: 'attention',
          expected: `a reason containing "${want.attention}"`,
          actual: seen.status.attention ?? 'none',
        },
];

// Where the case stands, in a few words: what a failing test's reader asks first.
function standing({ status }: Observed): string {
  const request = status.pendingRequest;
  const waits =
    status.waitingFor === 'approval' && request
      ? `waits for approval of ${request.stage} (${request.approvals.length}/${request.required})`
      : status.waitingFor && `waits for ${status.waitingFor}`;
  return [`${status.outcome} at ${status.stage}`, waits, status.attention].filter(Boolean).join(', ');
}

/** The first field of `want` that does not hold of `seen`, with where the case stands; undefined when all hold. */
export function firstMismatch(want: Expectation, seen: Observed): (Mismatch & { standing: string }) | undefined {
  for (const check of CHECKS) {
    const mismatch = check(want, seen);
    if (mismatch) return { ...mismatch, standing: standing(seen) };
  }
  return undefined;
}
