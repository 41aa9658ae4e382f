// CORDON_ROLE: the intake and the worker in separate processes, as a deployment scales them, on a
// shared Temporal (the dev server here) and a shared PostgreSQL, each with its own data dir.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { keyFingerprint } from '../src/client/apiKeyRefresh';
import { connectClient } from '../src/client/connect';
import { newKeyEntry } from '../src/codec';
import { loadConfig } from '../src/config';
import { makeAlert } from './support/alerts';
import { startPostgres, type TestPostgres } from './support/postgres';
import { freePort, listening, runTs, startServiceProcess, type ServiceProcess } from './support/processes';
import { containment, TEST_POLICY, TestInventory, waitForStatus } from './support/scenario';
import { startDevServer } from './support/temporal';

let env: TestWorkflowEnvironment;
let pg: TestPostgres;
let client: Client | undefined;
const shared = mkdtempSync(path.join(tmpdir(), 'cordon-roles-'));
const inventory = new TestInventory();
const started: ServiceProcess[] = [];
const file = (name: string, content: string) => {
  const at = path.join(shared, name);
  writeFileSync(at, content, { mode: 0o600 });
  return at;
};
// What every process of the deployment shares: Temporal, the database, the keys, the files.
const deployment: Record<string, string> = {};

beforeAll(async () => {
  [env, pg] = await Promise.all([startDevServer(), startPostgres()]);
  const { privateKey } = generateKeyPairSync('ed25519');
  Object.assign(deployment, {
    TEMPORAL_ADDRESS: env.address,
    DATABASE_URL: pg.url,
    CORDON_TASK_QUEUE: `roles-${process.pid}`,
    CORDON_PAYLOAD_KEYS_FILE: file('payload-keys', `${newKeyEntry()}\n`),
    CORDON_AUDIT_SIGNING_KEY_FILE: file(
      'audit-signing-key.pem',
      privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    ),
    // The dev server ignores the token; the connections carry it in plaintext, as TEMPORAL_TLS=false says.
    TEMPORAL_API_KEY_FILE: file('temporal-token', 'token-before-rotation'),
    TEMPORAL_TLS: 'false',
    CORDON_POLICY_FILE: TEST_POLICY,
    CORDON_INVENTORY_FILE: inventory.file,
    CORDON_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    CORDON_LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await client?.connection.close();
  await Promise.all([env?.teardown(), pg?.stop()]);
  rmSync(shared, { recursive: true, force: true });
});

async function startRole(role: 'intake' | 'worker'): Promise<ServiceProcess & { env: Record<string, string> }> {
  const roleEnv = {
    ...deployment,
    CORDON_ROLE: role,
    CORDON_DATA_DIR: mkdtempSync(path.join(shared, `${role}-`)),
    CORDON_HTTP_PORT: String(await freePort()),
  };
  const service = await startServiceProcess(roleEnv, { ready: role === 'worker' ? 'running' : 'healthz' });
  started.push(service);
  return { ...service, env: roleEnv };
}

// Who polls the task queue for workflow tasks: the workers, and nobody else.
async function workflowPollers(): Promise<number> {
  const { pollers } = await env.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: deployment.CORDON_TASK_QUEUE },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers?.length ?? 0;
}

const runningLine = (service: ServiceProcess) =>
  JSON.parse(
    service
      .output()
      .split('\n')
      .find((line) => line.includes('"msg":"cordon is running"'))!,
  );

const postAlert = (intake: ServiceProcess, alert: object, headers: Record<string, string> = {}) =>
  fetch(`${intake.http}/v1/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(alert),
  });

async function stopped(service: ServiceProcess): Promise<number | null> {
  service.child.kill('SIGTERM');
  return (await service.exit).code;
}

describe('an intake process and a worker process', () => {
  it('contain a case end to end: the intake takes the alert, the worker acts on it', async () => {
    const intake = await startRole('intake');
    expect(runningLine(intake)).toMatchObject({ role: 'intake', intake: intake.http });
    expect(runningLine(intake)).not.toHaveProperty('workerMetrics');
    expect(await workflowPollers()).toBe(0);

    // No worker yet: the alert is durable in its case all the same.
    const first = inventory.add('auto');
    const early = await postAlert(intake, makeAlert({ identity: { provider: 'simulated', id: first } }), {
      prefer: 'respond-async',
    });
    expect([early.status, await early.json()]).toEqual([202, expect.objectContaining({ disposition: 'pending' })]);

    const worker = await startRole('worker');
    expect(runningLine(worker)).toMatchObject({ role: 'worker', workerMetrics: expect.stringMatching(/^http:/) });
    expect(runningLine(worker)).not.toHaveProperty('intake');
    expect(await listening(Number(worker.env.CORDON_HTTP_PORT))).toBe(false);
    await vi.waitFor(async () => expect(await workflowPollers()).toBe(1), { timeout: 30_000, interval: 250 });

    client = await connectClient(loadConfig(intake.env));
    await waitForStatus(containment(client, first), (s) => expect(s.outcome).toBe('contained'), 120_000);

    // The intake answers for itself: it knows no worker's connectors, and serves no worker metrics.
    const second = inventory.add('auto');
    const answer = await postAlert(intake, makeAlert({ identity: { provider: 'simulated', id: second } }));
    const body = await answer.json();
    expect([answer.status, body]).toEqual([200, expect.objectContaining({ disposition: 'started' })]);
    expect(body).not.toHaveProperty('warnings');
    await waitForStatus(containment(client, second), (s) => expect(s.outcome).toBe('contained'), 120_000);
    const metrics = await (await fetch(`${intake.http}/metrics`)).text();
    expect(metrics).toMatch(/^cordon_alerts_accepted_total\{format="native",disposition="started"\} 1$/m);
    expect(metrics).not.toMatch(/^temporal_/m);

    // The worker's audit, signed with the shared key, verifies from its own environment.
    const verified = await runTs('bin/cordon.js', ['audit', 'verify'], worker.env);
    expect([verified.code, JSON.parse(verified.stdout)]).toEqual([0, expect.objectContaining({ intact: true })]);

    expect(await Promise.all([stopped(intake), stopped(worker)])).toEqual([0, 0]);
  }, 600_000); // two service start-ups on a loaded 2-core machine

  it('take a rotated token from the token file without a restart, and log only its fingerprint', async () => {
    writeFileSync(deployment.TEMPORAL_API_KEY_FILE, 'token-before-rotation');
    const worker = await startRole('worker');
    expect(runningLine(worker)).toMatchObject({
      tls: 'off',
      bearer: expect.stringContaining(keyFingerprint('token-before-rotation')),
    });
    writeFileSync(deployment.TEMPORAL_API_KEY_FILE, 'token-after-rotation\n');
    // The file is read again every 30 s.
    await vi.waitFor(() => expect(worker.output()).toContain('Temporal API key replaced from its file'), {
      timeout: 90_000,
      interval: 500,
    });
    expect(worker.output()).toContain(keyFingerprint('token-after-rotation'));
    expect(worker.output()).not.toContain('token-after-rotation');
    expect(worker.output()).not.toContain('token-before-rotation');

    // Its connections work on with the new token: the worker contains a new case.
    const id = inventory.add('auto');
    client ??= await connectClient(loadConfig(worker.env));
    const intake = await startRole('intake');
    expect((await postAlert(intake, makeAlert({ identity: { provider: 'simulated', id } }))).status).toBe(200);
    await waitForStatus(containment(client, id), (s) => expect(s.outcome).toBe('contained'), 120_000);
    expect(await Promise.all([stopped(intake), stopped(worker)])).toEqual([0, 0]);
  }, 600_000);
});

describe('a role without what it shares', () => {
  it('exits 2 naming the variable: an intake without DATABASE_URL, a certificate without its key, a missing TLS file', async () => {
    const base = { CORDON_DATA_DIR: mkdtempSync(path.join(shared, 'refused-')), CORDON_LOG_LEVEL: 'warn' };
    const intake = await runTs('src/main.ts', [], { ...base, ...deployment, CORDON_ROLE: 'intake', DATABASE_URL: '' });
    expect(intake).toMatchObject({ code: 2, stdout: '' });
    expect(intake.stderr).toContain('cordon: invalid DATABASE_URL: is required with CORDON_ROLE=intake');

    const cert = file('client.pem', 'not read: the key is missing first');
    const halfPair = await runTs('src/main.ts', [], {
      ...base,
      ...deployment,
      TEMPORAL_TLS: '',
      TEMPORAL_TLS_CERT_FILE: cert,
    });
    expect(halfPair).toMatchObject({ code: 2, stdout: '' });
    expect(halfPair.stderr).toContain('cordon: invalid TEMPORAL_TLS_KEY_FILE: is required with TEMPORAL_TLS_CERT_FILE');

    const absent = path.join(shared, 'no-such-ca.pem');
    const missing = await runTs('src/main.ts', [], {
      ...base,
      ...deployment,
      TEMPORAL_TLS: '',
      TEMPORAL_TLS_CA_FILE: absent,
    });
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain(`cordon: invalid TEMPORAL_TLS_CA_FILE: ${absent} does not exist`);
  }, 120_000);
});
