// Storm: 10,000 alerts over 100 identities through the HTTP intake (bearer-authenticated
// GuardDuty-shaped native alerts), against direct client.workflow.start of as many no-op
// workflows. Afterwards: exactly one workflow per identity, every alert in a ledger, and no
// provider action applied twice.
import { statusQuery, containmentWorkflowId } from '../workflows/definitions';
import { benchAlert, duplicateActions, identityIds, until } from './support/alerts';
import { inBatches, type Row } from './support/stats';
import type { Stack } from './support/stack';

const CONCURRENCY = 64;

export interface StormResult {
  rows: Row[];
  workflows: number;
  alertsInLedgers: number;
  duplicateActions: number;
}

export async function stormBench(stack: Stack, alerts: number, identities = 100): Promise<StormResult> {
  const ids = identityIds('storm', identities);
  const { sourcesFile, token } = stack.source('siem');
  const service = await stack.startService({
    policyFile: stack.policy('storm'),
    inventoryFile: stack.inventory('storm', [{ environment: 'auto', ids }]),
    sourcesFile,
  });
  const bare = await stack.startBareWorker();
  // Interleaved, as a SIEM replaying a burst would send them: alert n of every identity, then n+1.
  const storm = Array.from({ length: alerts }, (_, i) => benchAlert(ids[i % identities], Math.floor(i / identities)));

  let refused = 0;
  const cordonStart = performance.now();
  await inBatches(storm, CONCURRENCY, async (alert) => {
    const res = await fetch(`${service.url}/v1/alerts/native`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(alert),
    });
    if (!res.ok) refused += 1;
    await res.arrayBuffer();
  });
  const cordonRate = (alerts - refused) / ((performance.now() - cordonStart) / 1000);

  const handles = ids.map((id) => stack.client.workflow.getHandle(containmentWorkflowId({ provider: 'simulated', id })));
  await until(async () => (await Promise.all(handles.map((h) => h.query(statusQuery)))).every((s) => s.outcome === 'contained'), 'every storm identity contained');
  // The baseline runs on an idle machine: Cordon's cases have finished their containment.
  const bareStart = performance.now();
  await inBatches(storm, CONCURRENCY, (alert) =>
    stack.client.workflow.start('bareActivities', { workflowId: `bare-${alert.id}`, taskQueue: stack.bareTaskQueue, args: [0] }));
  const bareRate = alerts / ((performance.now() - bareStart) / 1000);

  const statuses = await Promise.all(handles.map((h) => h.query(statusQuery)));
  const { count: workflows } = await stack.client.workflow.count(`WorkflowType = 'containIdentity'`);
  const result = {
    workflows,
    alertsInLedgers: statuses.reduce((n, s) => n + s.alerts.length, 0),
    duplicateActions: await duplicateActions(stack.db, ids),
  };
  await Promise.all([service.stop(), bare.stop()]);
  return {
    ...result,
    rows: [
      { bench: 'storm', metric: `alerts accepted/s (${alerts} over ${identities} identities, HTTP)`, cordon: cordonRate, baseline: bareRate, unit: '/s', ratio: cordonRate / bareRate, target: '>= x0.80' },
      { bench: 'storm', metric: 'refused alerts', cordon: refused, unit: '', target: '0' },
      { bench: 'storm', metric: 'containment workflows', cordon: workflows, unit: '', target: String(identities) },
      { bench: 'storm', metric: 'alerts in ledgers', cordon: result.alertsInLedgers, unit: '', target: String(alerts) },
      { bench: 'storm', metric: 'duplicate provider actions', cordon: result.duplicateActions, unit: '', target: '0' },
    ],
  };
}
