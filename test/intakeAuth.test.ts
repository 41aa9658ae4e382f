import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log';
import { freePort } from '../src/net';
import { falsePositiveSignal, statusQuery } from '../workflows/definitions';
import { installRuntime } from '../worker/runtime';
import { makeAlert } from './support/alerts';
import { example } from './support/formats';
import { useHarness } from './support/harness';
import { sample, signature, SIEM, startIntake } from './support/intake';
import { testLogger } from './support/temporal';

// The worker's Temporal metrics exporter must exist before the harness installs the runtime.
let workerMetricsPort: number;
beforeAll(async () => {
  workerMetricsPort = await freePort();
  installRuntime(testLogger, { metricsPort: workerMetricsPort });
});
const h = useHarness();

const logLines: string[] = [];
const logger = createLogger(
  'info',
  new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }),
);
let intake: Awaited<ReturnType<typeof startIntake>>;
beforeAll(async () => {
  intake = await startIntake(h.env.client, h.taskQueue, {
    logger,
    maxBodyBytes: 16 * 1024,
    workerMetricsUrl: `http://127.0.0.1:${workerMetricsPort}/metrics`,
  });
});
afterAll(() => intake?.close());

const bearer = (token = SIEM.token) => ({ authorization: `Bearer ${token}` });

describe('authentication', () => {
  it('admits a bearer source and records it as the alert source; the claimed source stays as evidence', async () => {
    const alert = h.alertFor(`auth-${Date.now()}`);
    const { status, body } = await intake.post('/v1/alerts', alert, bearer());
    expect(status).toBe(200);
    expect(body).toMatchObject({
      workflowId: `contain:simulated:${alert.identity.id}`,
      disposition: 'started',
      alertId: `siem:${alert.id}`,
      format: 'native',
    });
    const state = await h.env.client.workflow.getHandle(body.workflowId).query(statusQuery);
    expect(state.alerts.map((a) => a.id)).toEqual([`siem:${alert.id}`]);
    const history = await h.env.client.workflow.getHandle(body.workflowId).fetchHistory();
    const signalled = JSON.stringify(history.events?.find((e) => e.workflowExecutionSignaledEventAttributes));
    expect(
      Buffer.from(
        JSON.parse(signalled).workflowExecutionSignaledEventAttributes.input.payloads[0].data,
        'base64',
      ).toString(),
    ).toContain('"source":"siem"');
  });

  it('refuses a missing or unknown token with 401 JSON, and logs the refusal without the body', async () => {
    const marker = `body-marker-${Date.now()}`;
    const alert = makeAlert({ summary: marker });
    for (const headers of [{}, bearer('cdn_wrong'), { authorization: 'Basic YTpi' }]) {
      const { status, body, headers: replyHeaders } = await intake.post('/v1/alerts', alert, headers);
      expect(status).toBe(401);
      expect(replyHeaders.get('www-authenticate')).toBe('Bearer realm="cordon"');
      expect(body).toMatchObject({ error: 'authentication required', problems: [{ field: 'authorization' }] });
    }
    const refusals = logLines.filter((l) => l.includes('unauthenticated alert request'));
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(refusals.map((l) => JSON.parse(l).reason)).toEqual(expect.arrayContaining(['unknown bearer token']));
    expect(logLines.join('')).not.toContain(marker);
    expect(logLines.join('')).not.toContain('cdn_wrong');
  });

  it('admits a GitHub webhook by its X-Hub-Signature-256 and refuses a tampered body', async () => {
    const payload = example('github-secret-scanning.json');
    payload.alert.number = Date.now();
    payload.alert.updated_at = new Date().toISOString();
    const raw = Buffer.from(JSON.stringify(payload));
    const headers = { 'x-github-event': 'secret_scanning_alert', 'x-hub-signature-256': signature(raw) };
    const ok = await intake.post('/v1/alerts/github', raw, headers);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      workflowId: `contain:simulated:acme/website/secret-scanning/${payload.alert.number}`,
      disposition: 'started',
      format: 'github',
    });

    const tampered = Buffer.from(JSON.stringify({ ...payload, action: 'reopened' }));
    expect((await intake.post('/v1/alerts/github', tampered, headers)).status).toBe(401);
    const ping = Buffer.from(JSON.stringify(payload));
    const pong = await intake.post('/v1/alerts', ping, {
      'x-github-event': 'ping',
      'x-hub-signature-256': signature(ping),
    });
    expect(pong).toMatchObject({ status: 200, body: { ignored: true, format: 'github', reason: 'ping' } });
  });

  it('refuses a format the source may not send with 403, by path or by detection', async () => {
    const finding = example('guardduty-finding.json');
    expect((await intake.post('/v1/alerts/guardduty', finding, bearer())).body).toMatchObject({
      problems: [{ field: 'format', message: expect.stringContaining('not guardduty') }],
    });
    const detected = await intake.post('/v1/alerts', finding, bearer());
    expect(detected.status).toBe(403);
  });

  it('runs an OCSF finding from an authenticated source through containment at the simulated provider', async () => {
    const finding = example('ocsf-detection-finding.json');
    const id = `ocsf-${Date.now()}`;
    finding.actor.user.name = id;
    finding.evidences[0].user.name = id;
    const { status, body } = await intake.post('/v1/alerts/ocsf', finding, bearer());
    expect(status).toBe(200);
    expect(body.workflowId).toBe(`contain:simulated:${id}`);
    const handle = h.env.client.workflow.getHandle(body.workflowId);
    await vi.waitFor(
      async () => expect((await handle.query(statusQuery)).applied.map((a) => a.action)).toContain('restrict'),
      { timeout: 20_000 },
    );
  });

  it('refuses a replayed delivery (409), even after its case was declared a false positive, and a stale signed event', async () => {
    const payload = example('github-secret-scanning.json');
    payload.alert.number = Date.now();
    payload.alert.updated_at = new Date().toISOString();
    const raw = Buffer.from(JSON.stringify(payload));
    const delivery = randomUUID();
    const headers = {
      'x-github-event': 'secret_scanning_alert',
      'x-github-delivery': delivery,
      'x-hub-signature-256': signature(raw),
    };
    // An intake of its own: the metrics test below counts what the shared one answered.
    const own = await startIntake(h.env.client, h.taskQueue, {});
    const first = await own.post('/v1/alerts/github', raw, headers);
    expect([first.status, first.body.disposition]).toEqual([200, 'started']);
    const handle = h.env.client.workflow.getHandle(first.body.workflowId);
    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'a test key' });
    await vi.waitFor(async () => expect((await handle.query(statusQuery)).falsePositive?.by).toBe('alice'), {
      timeout: 20_000,
    });

    const replay = await own.post('/v1/alerts/github', raw, headers);
    expect([replay.status, replay.body.problems[0].field]).toEqual([409, 'x-github-delivery']);
    expect(replay.body.problems[0].message).toContain(`delivery ${delivery} was accepted at`);
    expect((await handle.query(statusQuery)).alerts).toHaveLength(1);

    const old = example('github-secret-scanning.json');
    old.alert.number = Date.now() + 1;
    old.alert.updated_at = new Date(Date.now() - 31 * 24 * 3_600_000).toISOString();
    const oldRaw = Buffer.from(JSON.stringify(old));
    const stale = await own.post('/v1/alerts/github', oldRaw, {
      'x-github-event': 'secret_scanning_alert',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature(oldRaw),
    });
    expect([stale.status, stale.body.problems[0].field]).toEqual([409, 'alert.updated_at']);
    await own.close();
  });

  it("keeps one source from pre-empting another's alert by sending its id first", async () => {
    const payload = example('github-secret-scanning.json');
    payload.alert.number = Date.now();
    payload.alert.updated_at = new Date().toISOString();
    const location = `acme/website/secret-scanning/${payload.alert.number}`;
    const decoy = h.alertFor(location, {
      id: `github-acme:github:${location}:created`,
      severity: 'low',
      confidence: 0,
    });
    expect((await intake.post('/v1/alerts', decoy, bearer())).body.disposition).toBe('started');
    const raw = Buffer.from(JSON.stringify(payload));
    const real = await intake.post('/v1/alerts/github', raw, {
      'x-github-event': 'secret_scanning_alert',
      'x-hub-signature-256': signature(raw),
    });
    expect(real.body).toMatchObject({ disposition: 'merged', alertId: `github-acme:github:${location}:created` });
  });

  it('refuses a stranger with 401 before reading the body, whatever its size or type', async () => {
    const huge = await intake.post('/v1/alerts', 'x'.repeat(100_000), { 'content-type': 'text/plain' });
    expect(huge).toMatchObject({ status: 401, body: { problems: [{ field: 'authorization' }] } });
    expect((await intake.post('/v1/alerts/syslog', '{}', bearer('cdn_wrong'))).status).toBe(401);
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After once a source exceeds its rate, and starts nothing', async () => {
    const send = (id: string) => intake.post('/v1/alerts', h.alertFor(id), bearer('tight-token'));
    const stamp = Date.now();
    expect([(await send(`tight-a-${stamp}`)).status, (await send(`tight-b-${stamp}`)).status]).toEqual([200, 200]);
    const limited = await send(`tight-c-${stamp}`);
    expect(limited.status).toBe(429);
    await expect(h.env.client.workflow.getHandle(`contain:simulated:tight-c-${stamp}`).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body.problems[0].field).toBe('(source)');
  });

  it('answers 413 JSON for a body over the limit and 415 for other content types', async () => {
    const big = await intake.post('/v1/alerts', { ...makeAlert(), summary: 'x'.repeat(20_000) }, bearer());
    expect(big).toMatchObject({
      status: 413,
      body: { problems: [{ field: '(body)', message: 'exceeds 16384 bytes' }] },
    });
    const text = await intake.post('/v1/alerts', 'id=1', {
      ...bearer(),
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(text).toMatchObject({ status: 415, body: { problems: [{ field: 'content-type' }] } });
  });

  it('answers 404 naming the field for an unknown format', async () => {
    expect(await intake.post('/v1/alerts/syslog', makeAlert(), bearer())).toMatchObject({
      status: 404,
      body: { problems: [{ field: 'format' }] },
    });
  });

  it('answers 422, not a retryable 503, when Temporal refuses the alert (over its 2 MB payload limit)', async () => {
    const roomy = await startIntake(h.env.client, h.taskQueue, { sources: undefined, maxBodyBytes: 4 * 1024 * 1024 });
    try {
      const alert = makeAlert({ evidence: { dump: 'x'.repeat(2_200_000) } });
      const refused = await roomy.post('/v1/alerts', alert);
      expect(refused).toMatchObject({
        status: 422,
        body: { workflowId: `contain:simulated:${alert.identity.id}`, problems: [{ field: '(alert)' }] },
      });
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(sample(await roomy.metrics(), 'cordon_alerts_rejected_total', { reason: 'refused_by_temporal' })).toBe(1);
      await expect(h.env.client.workflow.getHandle(refused.body.workflowId).describe()).rejects.toThrow(
        WorkflowNotFoundError,
      );
    } finally {
      await roomy.close();
    }
  });

  it('answers 422 for a well-formed finding that names nothing to contain', async () => {
    const finding = example('ocsf-detection-finding.json');
    delete finding.evidences;
    delete finding.actor;
    expect(await intake.post('/v1/alerts/ocsf', finding, bearer())).toMatchObject({
      status: 422,
      body: { problems: [{ field: 'evidences' }] },
    });
  });
});

describe('/metrics', () => {
  it('counts alerts by format, disposition and rejection reason, and includes the worker Temporal metrics', async () => {
    const text = await intake.metrics();
    expect(
      sample(text, 'cordon_alerts_accepted_total', { format: 'native', disposition: 'started' }),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'cordon_alerts_accepted_total', { format: 'github', disposition: 'started' })).toBe(1);
    expect(sample(text, 'cordon_alerts_ignored_total', { format: 'github' })).toBe(1);
    expect(sample(text, 'cordon_alerts_rejected_total', { format: 'unknown', reason: 'unauthenticated' })).toBe(5);
    expect(sample(text, 'cordon_alerts_rejected_total', { format: 'github', reason: 'unauthenticated' })).toBe(1);
    expect(sample(text, 'cordon_alerts_rejected_total', { format: 'guardduty', reason: 'format_not_allowed' })).toBe(2);
    expect(sample(text, 'cordon_alerts_rejected_total', { reason: 'rate_limited' })).toBe(1);
    expect(sample(text, 'cordon_alerts_rejected_total', { reason: 'body_too_large' })).toBe(1);
    expect(sample(text, 'cordon_alerts_rejected_total', { reason: 'unusable_alert', format: 'ocsf' })).toBe(1);
    expect(text).toMatch(/^cordon_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^temporal_workflow_completed|^temporal_request\{|^temporal_activity_execution_latency/m);
    expect(text).not.toContain(SIEM.token);
  });
});
