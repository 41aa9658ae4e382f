// Waiting: thousands of cases parked on an isolate approval cost the worker memory and idle CPU;
// then every one is approved and the time to drain (the provider applied every isolate) is
// measured. Baseline: as many bare workflows parked on a signal, then one no-op activity each.
import { submitAlert } from '../src/client/submitAlert';
import { approveSignal, containmentWorkflowId, statusQuery } from '../workflows/definitions';
import { appliedCount, benchAlert, identityIds, until } from './support/alerts';
import { inBatches, type Row } from './support/stats';
import type { Stack } from './support/stack';
import { watchUsage } from './support/usage';

const CONCURRENCY = 50;
const IDLE_WINDOW_MS = 10_000;
// Below the 1 GiB default, so the bench shows the bound comes from configuration: with 2,000
// parked cases most are evicted and replay when their approval arrives.
const MEMORY_BUDGET_MIB = 768;

// Idle means idle for the whole window: the figure is CPU per second of nothing happening.
async function idleUsage(pid: number) {
  const stop = watchUsage(pid);
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  return stop();
}

export async function waitingBench(stack: Stack, count: number): Promise<Row[]> {
  const ids = identityIds('park', count);
  const service = await stack.startService({
    policyFile: stack.policy('waiting'),
    inventoryFile: stack.inventory('waiting', [{ environment: 'gated', ids }]),
    env: { CORDON_WORKER_MEMORY_MIB: String(MEMORY_BUDGET_MIB) },
  });
  const bare = await stack.startBareWorker();
  const { client } = stack;
  const handles = ids.map((id) => client.workflow.getHandle(containmentWorkflowId({ provider: 'simulated', id })));

  await inBatches(ids, CONCURRENCY, (id) =>
    submitAlert(client, stack.taskQueue, benchAlert(id), { askDisposition: false }),
  );
  await until(async () => (await appliedCount(stack.db, 'restrict', ids)) === count, 'every restrict');
  const requests = await inBatches(handles, CONCURRENCY, async (h) => {
    for (;;) {
      const status = await h.query(statusQuery);
      if (status.pendingRequest) return status.pendingRequest.requestId;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const cordonIdle = await idleUsage(service.pid);
  const cordonStart = performance.now();
  await inBatches(handles, CONCURRENCY, (h, i) =>
    h.signal(approveSignal, { requestId: requests[i], approver: 'alice', reason: 'bench' }),
  );
  await until(async () => (await appliedCount(stack.db, 'isolate', ids)) === count, 'every isolate');
  const cordonDrain = (performance.now() - cordonStart) / 1000;

  const parked = await inBatches(ids, CONCURRENCY, (id) =>
    stack.bareClient.workflow.start('bareParked', { workflowId: `bare-${id}`, taskQueue: stack.bareTaskQueue }),
  );
  // Parked once the first no-op ran; the idle window lets the last workflow tasks settle.
  await until(async () => Object.keys(await bare.runs()).length === count, 'every bare workflow parked');
  const bareIdle = await idleUsage(bare.pid);
  const bareStart = performance.now();
  await inBatches(parked, CONCURRENCY, (h) => h.signal('go'));
  // Results are awaited 50 at a time: each is a long poll, and the server caps them per namespace.
  await inBatches(parked, CONCURRENCY, (h) => h.result());
  const bareDrain = (performance.now() - bareStart) / 1000;
  await Promise.all([service.stop(), bare.stop()]);

  return [
    {
      bench: 'waiting',
      metric: `worker RSS, ${count} parked`,
      cordon: cordonIdle.rssMiB,
      baseline: bareIdle.rssMiB,
      unit: 'MiB',
      ratio: cordonIdle.rssMiB / bareIdle.rssMiB,
      target: `< ${MEMORY_BUDGET_MIB} MiB (CORDON_WORKER_MEMORY_MIB)`,
    },
    {
      bench: 'waiting',
      metric: 'worker idle CPU (share of one core)',
      cordon: cordonIdle.cpuPercent,
      baseline: bareIdle.cpuPercent,
      unit: '%',
    },
    {
      bench: 'waiting',
      metric: 'approve all -> drained',
      cordon: cordonDrain,
      baseline: bareDrain,
      unit: 's',
      ratio: cordonDrain / bareDrain,
      target: '<= x2.00',
    },
  ];
}
