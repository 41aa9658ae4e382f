// Approval timers on the time-skipping test server: reminders, escalation, on-timeout rules.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readState } from '../activities/connectors/simulated/state';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase, type Database } from '../src/db';
import { approveSignal, statusQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { containment, pendingRequestId, TEST_POLICY, TestInventory, WebhookSink } from './support/scenario';
import { startTimeSkippingServer, startWorker } from './support/temporal';

let env: TestWorkflowEnvironment;
let db: Database;
let worker: Worker;
let workerDone: Promise<void>;
let webhook: WebhookSink;
const inventory = new TestInventory();
const taskQueue = `timers-${randomUUID()}`;

beforeAll(async () => {
  [env, db, webhook] = await Promise.all([startTimeSkippingServer(), openDatabase({}), WebhookSink.start()]);
  worker = await startWorker(env, db, taskQueue, { policyFile: TEST_POLICY, inventoryFile: inventory.file, notifyWebhookUrl: webhook.url });
  workerDone = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await Promise.all([env?.teardown(), db?.close(), webhook?.close()]);
});

async function startContainment(environment: string) {
  const id = inventory.add(environment);
  // The Java test server has no custom search attributes.
  await submitAlert(env.client, taskQueue, makeAlert({ identity: { provider: 'simulated', id } }), { searchAttributes: false });
  const handle = containment(env.client, id);
  await pendingRequestId(handle, 'isolate');
  return { id, handle };
}

describe('approval timers', () => {
  it('sends a reminder while waiting, and a later approval still proceeds', async () => {
    const { id, handle } = await startContainment('gated');
    await env.sleep('25m');
    await vi.waitFor(() => expect(webhook.of('approval-reminder', handle.workflowId)).toHaveLength(1));
    const [reminder] = webhook.of('approval-reminder', handle.workflowId);
    expect(reminder).toMatchObject({
      commands: { approve: expect.stringContaining(`temporal workflow signal --workflow-id '${handle.workflowId}' --name approve`) },
      link: expect.stringContaining(encodeURIComponent(handle.workflowId)),
    });

    const requestId = (await handle.query(statusQuery)).pendingRequest!.requestId;
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'after the reminder' });
    await vi.waitFor(async () => expect((await handle.query(statusQuery)).waitingFor).toBe('verify-window'));
    expect(await readState(db, id)).toMatchObject({ status: 'disabled', restricted: true });
  });

  it('escalates at the deadline, then applies each on-timeout rule', async () => {
    const rules = ['hold', 'proceed', 'abort', 'rollback', 'lapse'] as const;
    const runs = Object.fromEntries(await Promise.all(rules.map(async (r) => [r, await startContainment(`timeout-${r}`)] as const)));

    await env.sleep('61m');
    for (const rule of rules) {
      const { handle } = runs[rule];
      await vi.waitFor(() => expect(webhook.of('approval-escalated', handle.workflowId)).toHaveLength(1));
      expect((await handle.query(statusQuery)).pendingRequest?.groups).toEqual(['secops', 'leads']);
    }

    await env.sleep('61m');
    const state = async (rule: (typeof rules)[number]) => {
      const { id, handle } = runs[rule];
      return { status: await handle.query(statusQuery), identity: await readState(db, id) };
    };
    await vi.waitFor(async () => {
      expect(await state('hold')).toMatchObject({ status: { outcome: 'held' }, identity: { restricted: true, status: 'active' } });
      expect(await state('proceed')).toMatchObject({ status: { outcome: 'contained' }, identity: { restricted: true, status: 'disabled' } });
      expect(await state('abort')).toMatchObject({ status: { outcome: 'aborted' }, identity: { restricted: true, status: 'active' } });
      expect(await state('rollback')).toMatchObject({ status: { outcome: 'rolled-back' }, identity: { restricted: false, status: 'active' } });
      // lapse keeps the reversible containment until maxHold (6h) ...
      expect(await state('lapse')).toMatchObject({ status: { outcome: 'active' }, identity: { restricted: true } });
    });
    expect(webhook.of('needs-attention', runs.hold.handle.workflowId)).toHaveLength(1);

    // ... then rolls it back.
    await env.sleep('5h');
    await vi.waitFor(async () =>
      expect(await state('lapse')).toMatchObject({ status: { outcome: 'rolled-back' }, identity: { restricted: false, status: 'active' } }),
    );
  });
});
