// A real browser drives the dev server's Web UI: an approver sends `approve` through the UI's
// "Send a Signal" form with its JSON input, and the waiting workflow proceeds.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { submitAlert } from '../src/client/submitAlert';
import { openDatabase, type Database } from '../src/db';
import { resolveTemporalCli } from '../src/temporal/binaries';
import { SEARCH_ATTRIBUTES } from '../src/temporal/searchAttributes';
import { installRuntime } from '../worker/runtime';
import { auditQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { freePort } from './support/processes';
import { containment, pendingRequestId, TEST_POLICY, TestInventory, waitForStatus } from './support/scenario';
import { startWorker, testLogger } from './support/temporal';

const CHROMIUM = process.env.CORDON_CHROMIUM ?? '/usr/bin/chromium';
// Flags for a closed network: no background fetches that would be refused and retried.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let env: TestWorkflowEnvironment;
let db: Database;
let worker: Worker;
let workerDone: Promise<void>;
let browser: Browser;
let uiPort: number;
const inventory = new TestInventory();
const taskQueue = `browser-${randomUUID()}`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CORDON_CHROMIUM)`);
  installRuntime(testLogger);
  uiPort = await freePort();
  const cli = resolveTemporalCli();
  [env, db, browser] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli.path ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
        ip: '127.0.0.1',
        ui: true,
        uiPort,
        searchAttributes: [...SEARCH_ATTRIBUTES],
        extraArgs: ['--ui-disable-news-fetch'],
      },
    }),
    openDatabase({}),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  ]);
  worker = await startWorker(env, db, taskQueue, { policyFile: TEST_POLICY, inventoryFile: inventory.file });
  workerDone = worker.run();
});

afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await workerDone;
  await Promise.all([env?.teardown(), db?.close()]);
});

describe('the Temporal Web UI', () => {
  it("sends approve through the UI's signal form, and the waiting workflow proceeds", async () => {
    const id = inventory.add('gated');
    await submitAlert(env.client, taskQueue, makeAlert({ identity: { provider: 'simulated', id } }));
    const handle = containment(env.client, id);
    const requestId = await pendingRequestId(handle, 'isolate');

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.locator('text=Send a Signal >> visible=true').first().click();
    // The UI lists the workflow's own signals (from its handlers); pick `approve`.
    // The page renders each action modal twice (one hidden): act on the visible one.
    await page.locator('[data-testid=signal-select-button] >> visible=true').click();
    await page.locator('[role=option]:has-text("approve") >> visible=true').first().click();
    await page.locator('[role=textbox][aria-label=Data] >> visible=true').click();
    // insertText, not typing: the JSON editor would auto-close typed brackets.
    await page.keyboard.insertText(JSON.stringify({ requestId, approver: 'alice', reason: 'approved in the Web UI' }));
    await page.locator('#signal-confirmation-modal button:has-text("Submit") >> visible=true').click();

    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(db, id)).toEqual(['restrict', 'isolate']);
    const approval = (await handle.query(auditQuery)).find((e) => e.event === 'decision.approved');
    expect(approval).toMatchObject({ actor: 'alice', reason: 'approved in the Web UI', result: { requestId, channel: 'signal' } });
  });
});
