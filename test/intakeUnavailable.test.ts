import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../src/db';
import { freePort } from '../src/net';
import { statusQuery } from '../workflows/definitions';
import type { CordonWorker } from '../worker/worker';
import { makeAlert } from './support/alerts';
import { recordingLogger } from './support/captured';
import { sample, startIntake } from './support/intake';
import { TEST_POLICY, TestInventory } from './support/scenario';
import { startDevServer, startWorker } from './support/temporal';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('answers 503 with the workflow id while Temporal is down, and the retry lands on that workflow once it is back', async () => {
  const port = await freePort();
  const dbFilename = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-unavailable-')), 'temporal.sqlite');
  const taskQueue = `unavailable-${Date.now()}`;
  const first = await startDevServer({ port, dbFilename });
  // The intake's own connection, as in the service: it outlives the server going away.
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  cleanups.push(() => connection.close());
  const log = recordingLogger();
  const intake = await startIntake(new Client({ connection }), taskQueue, { sources: undefined, logger: log.logger });
  cleanups.push(() => intake.close());

  await first.teardown();
  const alert = makeAlert();
  const refused = await intake.post('/v1/alerts', alert);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('5');
  expect(refused.body).toMatchObject({ workflowId: `contain:simulated:${alert.identity.id}`, alertId: alert.id });
  expect(
    sample(await intake.metrics(), 'cordon_alerts_rejected_total', {
      format: 'native',
      reason: 'temporal_unavailable',
    }),
  ).toBe(1);
  expect((await fetch(`${intake.url}/healthz`)).status).toBe(503);
  // The log says which gRPC status Temporal's client ended in: the forwarder saw only the 503.
  const logged = log
    .text()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; grpcCode?: number | null; alertId?: string })
    .find((line) => line.msg === 'alert not handed to Temporal');
  expect(logged).toMatchObject({ alertId: alert.id, status: 503 });
  expect([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]).toContain(logged?.grpcCode);

  const second: TestWorkflowEnvironment = await startDevServer({ port, dbFilename });
  cleanups.push(() => second.teardown());
  const db = await openDatabase({});
  cleanups.push(() => db.close());
  const inventory = new TestInventory();
  const worker: CordonWorker = await startWorker(second, db, taskQueue, {
    policyFile: TEST_POLICY,
    inventoryFile: inventory.file,
  });
  const running = worker.run();
  cleanups.push(async () => {
    worker.shutdown();
    await running;
  });

  const retried = await intake.post('/v1/alerts', alert);
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ workflowId: refused.body.workflowId, disposition: 'started' });
  const state = await second.client.workflow.getHandle(refused.body.workflowId).query(statusQuery);
  expect(state.alerts.map((a) => [a.id, a.deliveries])).toEqual([[alert.id, 1]]);
});
