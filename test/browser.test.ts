// A real browser drives the dev server's Web UI: an approver sends `approve` through the UI's
// "Send a Signal" form with its JSON input, and the waiting workflow proceeds. Payloads are
// encrypted; the UI decodes and encodes them through the intake's codec endpoint.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { auditQuery, statusQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { freePort } from './support/processes';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { startDevServer, testLogger } from './support/temporal';
import { AesGcmCodec, newKeyEntry, parsePayloadKeys } from '../src/codec';
import { buildIntake } from '../src/intake/server';

const CHROMIUM = process.env.CORDON_CHROMIUM ?? '/usr/bin/chromium';
// Flags for a closed network: no background fetches that would be refused and retried.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser;
let uiPort: number;
let codecPort: number;
// Payloads are encrypted, as the service does by default: the UI shows them through the codec.
const codec = new AesGcmCodec(parsePayloadKeys(newKeyEntry(), 'test key'));
const dataConverter = { payloadCodecs: [codec] };

// The dev server with its Web UI on a free port, decoding through an intake's codec endpoint.
async function devServerWithUi(): Promise<TestWorkflowEnvironment> {
  [uiPort, codecPort] = [await freePort(), await freePort()];
  return startDevServer({ uiPort, dataConverter, codecEndpoint: `http://127.0.0.1:${codecPort}/codec` });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CORDON_CHROMIUM)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(() => browser?.close());
const h = useHarness({ server: devServerWithUi, dataConverter });
let intake: ReturnType<typeof buildIntake>;
beforeAll(async () => {
  intake = buildIntake({
    client: h.env.client,
    taskQueue: h.taskQueue,
    logger: testLogger,
    codec: { codec, uiOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`] },
  });
  await intake.listen({ host: '127.0.0.1', port: codecPort });
});
afterAll(() => intake?.close());

// The UI renders Markdown in a sandboxed frame: read every frame's text.
async function frameTexts(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

describe('the Temporal Web UI', () => {
  it('shows an approver the case: the pending request, its deadline and how to decide; the list finds finished cases', async () => {
    const { handle } = await h.contain('gated', { consumers: ['billing-api'] });
    const requestId = await pendingRequestId(handle, 'isolate');
    const { deadline, actionDigest } = (await handle.query(statusQuery)).pendingRequest!;

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
    // The current details are the case's brief, in Markdown: first line the state at a glance.
    // The case page's "User Metadata" tab shows them (the UI reads them with the metadata query).
    await page.getByText('User Metadata', { exact: true }).first().click();
    const details = () => frameTexts(page);
    await expect.poll(details, { timeout: 60_000, interval: 1_000 }).toContain('isolate waits 0/1 approvals (secops)');
    const text = await details();
    expect(text).toContain(requestId);
    expect(text).toContain(deadline);
    expect(text).toContain(actionDigest);
    expect(text).toContain('billing-api');
    expect(text).toMatch(/cordon approve .* --request/);

    // A case that finished its work is found in the list by its outcome, though its run is open.
    const done = await h.contain('auto');
    await waitForStatus(done.handle, (s) => expect(s.outcome).toBe('contained'));
    const query = encodeURIComponent(`CordonOutcome="contained" AND WorkflowId="${done.handle.workflowId}"`);
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${query}`);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 60_000 }).toContain(done.handle.workflowId);
    await page.close();
  }, 180_000);

  it('says on the case page why a case needs attention: an unresolved principal', async () => {
    const principal = `svc-${randomUUID()}`;
    const { workflowId } = await h.send(makeAlert({ identity: { provider: 'unresolved', id: principal } }));
    await waitForStatus(h.env.client.workflow.getHandle(workflowId), (s) => expect(s.outcome).toBe('needs-attention'));

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
    await page.getByText('User Metadata', { exact: true }).first().click();
    await expect
      .poll(() => frameTexts(page), { timeout: 60_000, interval: 1_000 })
      .toContain(`needs attention · no identity system is known for principal ${principal}`);
    expect(await frameTexts(page)).toContain('add it to the inventory with its provider');
    await page.close();
  }, 180_000);

  it("sends approve through the UI's signal form, and the waiting workflow proceeds", async () => {
    const { id, handle } = await h.contain('gated');
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
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    const approval = (await handle.query(auditQuery)).find((e) => e.event === 'decision.approved');
    expect(approval).toMatchObject({
      actor: 'alice',
      reason: 'approved in the Web UI',
      result: { requestId, channel: 'signal' },
    });
  });
});
