// `npm run bench`: what alert intake costs, as ratios against a baseline measured in the same run.
// Baseline: a bare signalWithStart of the same alerts (what any forwarder could do directly).
// Cordon:   submitAlert = signalWithStart + asking the workflow for the delivery's disposition.
// HTTP:     the same alerts as GuardDuty findings POSTed to the intake with a bearer token
//           (authentication, decoding, the adapter, then submitAlert).
// Also: alert -> fully contained (restrict, revoke, rotate) per identity, on the simulated provider.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Alert } from '../src/alerts';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase } from '../src/db';
import { createLogger } from '../src/log';
import { resolveTemporalCli, serverExecutable } from '../src/temporal/binaries';
import { SEARCH_ATTRIBUTES } from '../src/temporal/searchAttributes';
import { alertSignal, containmentWorkflowId, statusQuery } from '../workflows/definitions';
import { bundleWorkflows } from '../worker/bundle';
import { buildIntake } from '../src/intake/server';
import { newToken } from '../src/intake/sources';
import { installRuntime } from '../worker/runtime';
import { createWorker } from '../worker/worker';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IDENTITIES = 20;
const ALERTS_PER_IDENTITY = 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(): Promise<void> {
  const logger = createLogger('warn');
  installRuntime(logger);
  const cli = resolveTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable(cli),
      ip: '127.0.0.1',
      searchAttributes: [...SEARCH_ATTRIBUTES],
    },
  });
  const db = await openDatabase({});
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-'));
  const inventoryFile = path.join(dir, 'inventory.yaml');
  const taskQueue = `bench-${randomUUID()}`;
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await bundleWorkflows(),
    db,
    client: env.client,
    policyFile: path.resolve(__dirname, '..', 'test', 'fixtures', 'policy.yaml'),
    inventoryFile,
    uiUrl: 'http://127.0.0.1:8233',
    logger,
  });
  const workerDone = worker.run();
  const identities: object[] = [];

  const { token, hash } = newToken();
  const intake = buildIntake({
    client: env.client,
    taskQueue,
    logger,
    sources: [{ name: 'bench', formats: ['guardduty'], tokens: [hash], provider: 'simulated', rateLimit: { perSecond: 1e6, burst: 1e6 } }],
  });
  const intakeUrl = await intake.listen({ host: '127.0.0.1', port: 0 });
  const asGuardDutyFinding = (alert: Alert) => ({
    SchemaVersion: '2.0', AccountId: '123456789012', Region: 'eu-west-1', Id: alert.id,
    Type: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS', Severity: 8, Confidence: 9.5,
    CreatedAt: '2026-11-22T09:00:00Z', UpdatedAt: '2026-11-22T09:00:00Z',
    Resource: { ResourceType: 'AccessKey', AccessKeyDetails: { UserName: alert.identity.id, AccessKeyId: 'AKIAIOSFODNN7EXAMPLE' } },
  });
  async function postFinding(alert: Alert): Promise<void> {
    const res = await fetch(`${intakeUrl}/v1/alerts/guardduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(asGuardDutyFinding(alert)),
    });
    if (!res.ok) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
  }

  function batch(label: string): Alert[] {
    const ids = Array.from({ length: IDENTITIES }, (_, i) => `${label}-${i}`);
    identities.push(...ids.map((id) => ({ provider: 'simulated', id, class: 'ephemeral', environment: 'auto' })));
    writeFileSync(inventoryFile, stringify({ identities }));
    return ids.flatMap((id) =>
      Array.from({ length: ALERTS_PER_IDENTITY }, (_, n) => ({
        id: `${id}-alert-${n}`, source: 'bench', kind: 'secret_leak', severity: 'high', confidence: 0.95,
        identity: { provider: 'simulated', id },
      }) as Alert),
    );
  }

  async function timed(fn: () => Promise<unknown>): Promise<number> {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  }

  async function allContained(batchAlerts: Alert[]): Promise<void> {
    const workflowIds = [...new Set(batchAlerts.map((a) => containmentWorkflowId(a.identity)))];
    await Promise.all(workflowIds.map(async (workflowId) => {
      for (;;) {
        const status = await env.client.workflow.getHandle(workflowId).query(statusQuery);
        if (status.outcome === 'contained') return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }));
  }

  const baseline: number[] = [];
  const cordon: number[] = [];
  const contained: number[] = [];
  const http: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Each phase starts on an idle worker: the previous batch's containments have finished.
    const bare = batch(`bare-${round}`);
    baseline.push(await timed(() => Promise.all(bare.map((alert) =>
      env.client.workflow.signalWithStart('containIdentity', {
        workflowId: containmentWorkflowId(alert.identity), taskQueue, args: [{ identity: alert.identity }], signal: alertSignal, signalArgs: [alert],
      })))));
    await allContained(bare);
    const full = batch(`cordon-${round}`);
    cordon.push(await timed(() => Promise.all(full.map((alert) => submitAlert(env.client, taskQueue, alert)))));
    contained.push(await timed(() => allContained(full)));
    const posted = batch(`http-${round}`);
    http.push(await timed(() => Promise.all(posted.map(postFinding))));
    await allContained(posted);
  }

  const alerts = IDENTITIES * ALERTS_PER_IDENTITY;
  const rows = [
    ['signalWithStart only (baseline)', median(baseline), 1],
    ['submitAlert (+ disposition)', median(cordon), median(cordon) / median(baseline)],
    ['then until all contained (3 actions each)', median(contained), median(contained) / median(baseline)],
    ['HTTP intake, GuardDuty format, bearer auth', median(http), median(http) / median(baseline)],
  ] as const;
  console.log(`${alerts} alerts on ${IDENTITIES} identities, median of ${ROUNDS} rounds, concurrent submits`);
  for (const [label, ms, ratio] of rows) {
    console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms   x${ratio.toFixed(2)} baseline`);
  }
  await intake.close();
  worker.shutdown();
  await workerDone;
  await Promise.all([env.teardown(), db.close()]);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
