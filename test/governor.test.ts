// The governor on the dev server: kill switch and destructive-action budget.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { governorStatus, setKillSwitch } from '../src/client/governor';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase, type Database } from '../src/db';
import { auditQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { containment, pendingRequestId, TEST_POLICY, TestInventory, waitForStatus } from './support/scenario';
import { startDevServer, startWorker } from './support/temporal';

let env: TestWorkflowEnvironment;
let db: Database;
let worker: Worker;
let workerDone: Promise<void>;
const inventory = new TestInventory();
const taskQueue = `governor-${randomUUID()}`;
// The test policy with a budget of 2 destructive actions per hour.
const policyFile = path.join(tmpdir(), `cordon-governor-policy-${randomUUID()}.yaml`);

beforeAll(async () => {
  const policy = parse(readFileSync(TEST_POLICY, 'utf8'));
  policy.governor.budget.limit = 2;
  writeFileSync(policyFile, stringify(policy));
  [env, db] = await Promise.all([startDevServer(), openDatabase({})]);
  worker = await startWorker(env, db, taskQueue, { policyFile, inventoryFile: inventory.file });
  workerDone = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await Promise.all([env?.teardown(), db?.close()]);
});

const contain = async (environment: string) => {
  const id = inventory.add(environment);
  await submitAlert(env.client, taskQueue, makeAlert({ identity: { provider: 'simulated', id } }));
  return { id, handle: containment(env.client, id) };
};

describe('the governor', () => {
  it('kill switch engaged mid-run: no new action starts until it is released', async () => {
    const { id, handle } = await contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await listActions(db, id)).toEqual(['restrict']);

    const engaged = await setKillSwitch(env.client, taskQueue, true, { by: 'ciso-1', reason: 'automation misbehaving' });
    expect(engaged.engaged).toBe(true);
    await handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('governor'));
    const fresh = await contain('auto');
    await waitForStatus(fresh.handle, (s) => expect(s.waitingFor).toBe('governor'));
    expect(await listActions(db, id)).toEqual(['restrict']);
    expect(await listActions(db, fresh.id)).toEqual([]);
    expect((await governorStatus(env.client)).waiting).toEqual(expect.arrayContaining([handle.workflowId, fresh.handle.workflowId]));

    await setKillSwitch(env.client, taskQueue, false, { by: 'ciso-1', reason: 'fixed' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(db, id)).toEqual(['restrict', 'isolate']);
    expect((await handle.query(auditQuery)).some((e) => e.event === 'governor.blocked')).toBe(true);
  });

  it('over budget: an action the policy would auto-run needs approval', async () => {
    // The first test spent the budget of 2: its isolate, and the auto run's revoke.
    await waitForStatus(containment(env.client, inventory.last('auto')), (s) => expect(s.pendingRequest?.stage).toBe('rotate'));
    expect((await governorStatus(env.client)).granted.map((g) => g.stage)).toEqual(['isolate', 'revoke']);
    const over = await contain('auto');
    const requestId = await pendingRequestId(over.handle, 'revoke');
    expect(await listActions(db, over.id)).toEqual(['restrict']);
    expect((await over.handle.query(auditQuery)).some((e) => e.event === 'governor.over-budget')).toBe(true);

    await over.handle.executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'bob' }] });
    await waitForStatus(over.handle, (s) => expect(s.applied.map((a) => a.action)).toContain('revoke'));
  });
});
