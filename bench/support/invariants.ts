// What a chaos run must leave behind, checked against the three records that could disagree:
// Temporal's histories, the provider's applied actions and the audit store.
import type { Client } from '@temporalio/client';
import { listActions } from '../../activities/connectors/simulated/state';
import { compareWithHistory, entriesFromHistories } from '../../src/audit/rebuild';
import { readEntries, verifyEntries } from '../../src/audit/store';
import type { Database } from '../../src/db';
import { containmentWorkflowId, statusQuery, type ContainmentStatus } from '../../workflows/definitions';

/** One identity a run contained, the alert ids it was sent, and the actions its policy applies. */
export interface Expectation {
  identityId: string;
  alertIds: string[];
  actions: string[];
}

export interface ChaosCounts {
  workflows: number;
  lost: number;
  duplicateActions: number;
  auditMismatches: number;
}

/** The counts, and one line per violation saying where. */
export interface ChaosReport extends ChaosCounts {
  problems: string[];
}

/** `chaos: N workflows, lost 0, duplicate actions 0, audit mismatches 0`. */
export const summaryLine = (c: ChaosCounts) =>
  `chaos: ${c.workflows} workflows, lost ${c.lost}, duplicate actions ${c.duplicateActions}, audit mismatches ${c.auditMismatches}`;

/** Zero only when nothing was lost, duplicated or mis-audited. */
export const exitCodeFor = (c: ChaosCounts) => (c.lost + c.duplicateActions + c.auditMismatches === 0 ? 0 : 1);

const countBy = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());

/**
 * Lost: a case that did not finish contained, an alert missing from its ledger, or an action
 * the provider never applied. Duplicate: an action applied more than once, or a second case
 * for one identity. Audit mismatch: a stored entry that differs from, or is missing in, the
 * histories (and the reverse), a broken chain, or an event recorded other than exactly once.
 */
export async function checkInvariants(client: Client, db: Database, expected: Expectation[]): Promise<ChaosReport> {
  const report: ChaosReport = {
    workflows: expected.length,
    lost: 0,
    duplicateActions: 0,
    auditMismatches: 0,
    problems: [],
  };
  const problem = (kind: 'lost' | 'duplicateActions' | 'auditMismatches', n: number, what: string) => {
    if (n <= 0) return;
    report[kind] += n;
    report.problems.push(`${kind}: ${what}`);
  };
  for (const { identityId, alertIds, actions } of expected) {
    const workflowId = containmentWorkflowId({ provider: 'simulated', id: identityId });
    const cases: string[] = [];
    // Every run but continued ones: one per case, closed or running.
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      if (run.status.name !== 'CONTINUED_AS_NEW') cases.push(run.status.name);
    }
    const finals = cases.length;
    problem('duplicateActions', finals - 1, `${workflowId} has ${finals} cases`);
    // A running case is asked for its status; waiting on its result could take forever. The
    // list above comes from visibility, which can still show a run that just closed as running:
    // whether the latest run is open is asked of the run itself.
    const handle = client.workflow.getHandle(workflowId);
    const running = finals > 0 && (await handle.describe()).status.name === 'RUNNING';
    const status: ContainmentStatus | undefined = !finals
      ? undefined
      : running
        ? await handle.query(statusQuery)
        : await handle.result().catch(() => undefined);
    if (running || status?.outcome !== 'contained' || status.stage !== 'closed') {
      problem(
        'lost',
        1,
        `${workflowId} did not close contained (${cases.join(',') || 'no run'}; ${status ? `${status.stage}, ${status.outcome}` : 'no status'})`,
      );
    }
    const ledger = new Set(status?.alerts.map((a) => a.id));
    problem('lost', alertIds.filter((id) => !ledger.has(id)).length, `${workflowId} ledger lacks alerts`);

    const applied = countBy(await listActions(db, identityId));
    problem(
      'lost',
      actions.filter((a) => !applied.has(a)).length,
      `${identityId}: provider never applied ${actions.filter((a) => !applied.has(a)).join(',')}`,
    );
    for (const [action, n] of applied)
      problem('duplicateActions', n - 1, `${identityId}: ${action} applied ${n} times`);

    const stored = await readEntries(db, { workflowId });
    const compared = compareWithHistory(stored, await entriesFromHistories(client, workflowId));
    problem(
      'auditMismatches',
      compared.missingFromStore.length,
      `${workflowId}: not stored ${compared.missingFromStore.join(' ')}`,
    );
    problem(
      'auditMismatches',
      compared.notInHistory.length,
      `${workflowId}: stored, not in history ${compared.notInHistory.join(' ')}`,
    );
    problem(
      'auditMismatches',
      compared.different.length,
      `${workflowId}: differs from history ${compared.different.join(' ')}`,
    );
    const chain = verifyEntries(stored);
    if (!chain.intact) problem('auditMismatches', 1, `${workflowId}: chain broken at seq ${chain.broken?.seq}`);
    const appliedEntries = countBy(stored.filter((e) => e.event === 'action.applied').map((e) => e.action ?? ''));
    for (const action of actions)
      problem(
        'auditMismatches',
        Math.abs((appliedEntries.get(action) ?? 0) - 1),
        `${workflowId}: ${appliedEntries.get(action) ?? 0} action.applied entries for ${action}`,
      );
    const received = countBy(stored.filter((e) => e.event === 'alert.received').flatMap((e) => e.alertIds ?? []));
    for (const id of alertIds)
      problem(
        'auditMismatches',
        Math.abs((received.get(id) ?? 0) - 1),
        `${workflowId}: ${received.get(id) ?? 0} alert.received entries for ${id}`,
      );
  }
  return report;
}
