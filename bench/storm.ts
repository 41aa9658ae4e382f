// Storm: 10,000 alerts over 100 identities through the HTTP intake (bearer-authenticated
// native alerts, sent as a forwarder does, `Prefer: respond-async`), against direct
// client.workflow.start of as many no-op workflows. Then a tenth as many again asking each
// disposition (the default), against as many starts. Afterwards: exactly one workflow per
// identity, every alert in a ledger, and no provider action applied twice. With more than one
// intake (the cluster), alerts go to each in turn, as a load balancer would send them.
import { statusQuery, containmentWorkflowId } from '../workflows/definitions';
import { benchAlert, duplicateActions, identityIds, until } from './support/alerts';
import { inBatches, type Row } from './support/stats';
import type { BenchStack } from './support/benchStack';

const CONCURRENCY = 64;
const DEADLINE_EXCEEDED = 4;

export interface StormResult {
  rows: Row[];
  workflows: number;
  alertsInLedgers: number;
  duplicateActions: number;
}

/** `prefix` names the identities: a stack that runs the bench again needs new ones. */
export async function stormBench(
  stack: BenchStack,
  alerts: number,
  { identities = 100, prefix = 'storm' } = {},
): Promise<StormResult> {
  const ids = identityIds(prefix, identities);
  const { sourcesFile, token } = stack.source('siem');
  const service = await stack.startService({
    // About 110 alerts per identity within a minute or two: over the default per-case rate, whose
    // shedding would hide the intake's throughput this bench measures.
    policyFile: stack.policy('storm', { caseLimits: { alertsPerMinute: 10_000 } }),
    inventoryFile: stack.inventory('storm', [{ environment: 'auto', ids }]),
    sourcesFile,
  });
  const bare = await stack.startBareWorker();
  // Interleaved, as a SIEM replaying a burst would send them: alert n of every identity, then n+1.
  const storm = Array.from({ length: alerts }, (_, i) => benchAlert(ids[i % identities], Math.floor(i / identities)));

  // How many alerts each refusing HTTP status answered, or a connection the intake closed under
  // the request: a forwarder would send them again.
  const refusals: Record<string, number> = {};
  const refuse = (why: string | number) => (refusals[why] = (refusals[why] ?? 0) + 1);
  // Alerts accepted per second through the intake (a refused one is not); `respondAsync` skips asking the case.
  async function send(batch: typeof storm, respondAsync: boolean): Promise<number> {
    const start = performance.now();
    let accepted = 0;
    await inBatches(batch, CONCURRENCY, async (alert, i) => {
      const res = await fetch(`${service.intakeUrls[i % service.intakeUrls.length]}/v1/alerts/native`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(respondAsync && { prefer: 'respond-async' }),
        },
        body: JSON.stringify(alert),
      }).catch((err: Error) => {
        // fetch fails with a TypeError when the connection breaks; anything else is the bench's bug.
        if (!(err instanceof TypeError)) throw err;
        refuse('connection closed');
      });
      if (!res) return;
      if (res.ok) accepted += 1;
      else refuse(res.status);
      await res.arrayBuffer();
    });
    return accepted / ((performance.now() - start) / 1000);
  }
  // The baseline runs on an idle machine: Cordon's cases have finished their containment.
  async function startBare(batch: typeof storm, prefix: string): Promise<number> {
    const start = performance.now();
    await inBatches(batch, CONCURRENCY, (alert) =>
      stack.bareClient.workflow.start('bareActivities', {
        workflowId: `${prefix}-${alert.id}`,
        taskQueue: stack.bareTaskQueue,
        args: [0],
      }),
    );
    return batch.length / ((performance.now() - start) / 1000);
  }
  const handles = ids.map((id) =>
    stack.client.workflow.getHandle(containmentWorkflowId({ provider: 'simulated', id })),
  );
  // On a loaded machine a query may time out before the case's busy worker answers: not settled yet.
  const outcomeOf = (h: (typeof handles)[number]) =>
    h.query(statusQuery).then(
      (s) => s.outcome,
      (err: { cause?: { code?: number } }) => {
        if (err.cause?.code !== DEADLINE_EXCEEDED) throw err;
      },
    );
  const settled = () =>
    until(
      async () => (await Promise.all(handles.map(outcomeOf))).every((outcome) => outcome === 'contained'),
      'every storm identity contained',
    );

  const cordonRate = await stack.during('cordon', storm.length, () => send(storm, true));
  await settled();
  const bareRate = await stack.during('floor', storm.length, () => startBare(storm, 'bare'));
  // The default: each answer names its disposition, which the case's worker must give.
  const asking = Array.from({ length: Math.ceil(alerts / 10) }, (_, i) =>
    benchAlert(ids[i % identities], alerts + Math.floor(i / identities)),
  );
  const askingRate = await send(asking, false);
  await settled();
  const askingBareRate = await startBare(asking, 'bare-asking');

  const refused = Object.values(refusals).reduce((n, count) => n + count, 0);
  const statuses = await Promise.all(handles.map((h) => h.query(statusQuery)));
  const { count: workflows } = await stack.client.workflow.count(
    `WorkflowType = 'containIdentity' AND CordonIdentity STARTS_WITH 'simulated:${prefix}-'`,
  );
  const result = {
    workflows,
    alertsInLedgers: statuses.reduce((n, s) => n + s.alerts.length, 0),
    duplicateActions: await duplicateActions(stack.db, ids),
  };
  await Promise.all([service.stop(), bare.stop()]);
  return {
    ...result,
    rows: [
      {
        bench: 'storm',
        metric: `alerts accepted/s (${alerts} over ${identities} identities, HTTP, Prefer: respond-async)`,
        cordon: cordonRate,
        baseline: bareRate,
        unit: '/s',
        ratio: cordonRate / bareRate,
        target: '>= x0.80',
      },
      {
        bench: 'storm',
        metric: `alerts accepted/s with their disposition (${asking.length} more, HTTP)`,
        cordon: askingRate,
        baseline: askingBareRate,
        unit: '/s',
        ratio: askingRate / askingBareRate,
      },
      {
        bench: 'storm',
        metric: `refused alerts${refused ? ` (why: count, ${JSON.stringify(refusals)})` : ''}`,
        cordon: refused,
        unit: '',
        target: '0',
      },
      { bench: 'storm', metric: 'containment workflows', cordon: workflows, unit: '', target: String(identities) },
      {
        bench: 'storm',
        metric: 'alerts in ledgers',
        cordon: result.alertsInLedgers,
        unit: '',
        target: String(alerts + asking.length),
      },
      { bench: 'storm', metric: 'duplicate provider actions', cordon: result.duplicateActions, unit: '', target: '0' },
    ],
  };
}
