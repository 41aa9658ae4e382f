import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { buildIntake } from '../src/intake/server';
import { statusQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { decodedHistoryText } from './support/history';
import { useHarness } from './support/harness';
import { ROOT } from './support/processes';
import { CONFIG_DIR, testLogger } from './support/temporal';

// The shipped policy and inventory: what `npm start` uses.
const h = useHarness({
  policyFile: path.join(CONFIG_DIR, 'policy.yaml'),
  inventoryFile: path.join(CONFIG_DIR, 'inventory.yaml'),
});
let intake: ReturnType<typeof buildIntake>;
let baseUrl: string;

beforeAll(async () => {
  intake = buildIntake({ client: h.env.client, taskQueue: h.taskQueue, logger: testLogger });
  baseUrl = await intake.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => intake?.close());

async function post(body: unknown, contentType = 'application/json') {
  const res = await fetch(`${baseUrl}/v1/alerts`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await h.env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('POST /v1/alerts', () => {
  it('starts the identity workflow, which restricts the identity at the simulated provider', async () => {
    const alert = makeAlert();
    const { status, body } = await post(alert);

    expect(status).toBe(200);
    expect(body).toMatchObject({ workflowId: `contain:simulated:${alert.identity.id}`, disposition: 'started' });
    const handle = h.env.client.workflow.getHandle(body.workflowId as string);
    // An unknown identity: observe and restrict run automatically, revoke waits for approval.
    await vi.waitFor(async () => expect((await handle.query(statusQuery)).pendingRequest?.stage).toBe('revoke'), {
      timeout: 20_000,
    });

    const state = await handle.query(statusQuery);
    expect(state.outcome).toBe('active');
    expect(state.applied).toEqual([
      { stage: 'restrict', action: 'restrict', changed: true, verified: true, detail: { restricted: true } },
    ]);
    expect(await listActions(h.db, alert.identity.id)).toEqual(['restrict']);
    expect((await handle.describe()).typedSearchAttributes.getAll().map((p) => p.key.name)).toEqual(
      expect.arrayContaining(['CordonIdentity', 'CordonProvider', 'CordonSeverity', 'CordonStage']),
    );
  });

  it('answers duplicate for a repeated alert id and merged for a new alert on the same identity', async () => {
    const first = makeAlert();
    const again = { ...first };
    const other = makeAlert({ identity: first.identity, kind: 'anomalous_usage' });

    expect((await post(first)).body.disposition).toBe('started');
    expect((await post(again)).body.disposition).toBe('duplicate');
    expect((await post(other)).body.disposition).toBe('merged');

    const handle = h.env.client.workflow.getHandle(`contain:simulated:${first.identity.id}`);
    await vi.waitFor(async () => expect((await handle.query(statusQuery)).pendingRequest).toBeDefined(), {
      timeout: 20_000,
    });
    const state = await handle.query(statusQuery);
    expect(state.alerts.map((a) => [a.id, a.deliveries])).toEqual([
      [first.id, 2],
      [other.id, 1],
    ]);
    expect(await listActions(h.db, first.identity.id)).toEqual(['restrict']);
  });

  it('with Prefer: respond-async answers 202 without asking the case, and the alert is in it all the same', async () => {
    const alert = makeAlert();
    const res = await fetch(`${baseUrl}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify(alert),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    expect(await res.json()).toMatchObject({
      disposition: 'pending',
      workflowId: `contain:simulated:${alert.identity.id}`,
      alertId: alert.id,
    });
    const handle = h.env.client.workflow.getHandle(`contain:simulated:${alert.identity.id}`);
    await vi.waitFor(
      async () => expect((await handle.query(statusQuery)).alerts.map((a) => a.id)).toEqual([alert.id]),
      { timeout: 20_000 },
    );
  });

  it('rejects a malformed alert with 400 naming each failing field, and starts nothing', async () => {
    const alert = makeAlert();
    const { status, body } = await post({ ...alert, severity: 'urgent', confidence: 1.7, kind: undefined });

    expect(status).toBe(400);
    expect(body.error).toBe('invalid native alert');
    const fields = (body.problems as { field: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual(['confidence', 'kind', 'severity']);
    expect(await workflowExists(`contain:simulated:${alert.identity.id}`)).toBe(false);
  });

  it('refuses identity ids that could pass for another, naming the character; folds compatibility forms', async () => {
    const base = makeAlert();
    for (const [id, message] of [
      [`svc\u202E${randomUUID()}`, 'must not contain U+202E (a bidirectional control)'],
      [`svc\u200B${randomUUID()}`, 'must not contain U+200B (an invisible character)'],
      [`svc-dеploy-${randomUUID()}`, 'mixes Latin and Cyrillic letters (U+0435 "е")'],
    ]) {
      const { status, body } = await post({ ...base, identity: { provider: 'simulated', id } });
      expect([status, body.problems]).toEqual([400, [{ field: 'identity.id', message }]]);
      expect(await workflowExists(`contain:simulated:${id}`)).toBe(false);
    }
    const suffix = randomUUID();
    const folded = await post({ ...base, identity: { provider: 'simulated', id: `ｓｖｃ-${suffix}` } });
    expect(folded.body.workflowId).toBe(`contain:simulated:svc-${suffix}`);
  });

  it('blames the field that kept an OCSF or Falco body from being recognised', async () => {
    const ocsf = JSON.parse(readFileSync(path.join(ROOT, 'examples/alerts/ocsf-detection-finding.json'), 'utf8'));
    const answer = await post({ ...ocsf, class_uid: undefined });
    expect([answer.status, answer.body.error]).toEqual([400, 'invalid ocsf alert']);
    expect(answer.body.problems).toEqual([{ field: 'class_uid', message: expect.stringContaining('/v1/alerts/ocsf') }]);
    const falco = JSON.parse(readFileSync(path.join(ROOT, 'examples/alerts/falco-k8s-audit.json'), 'utf8'));
    const fromFalco = await post({ ...falco, output_fields: undefined });
    expect((fromFalco.body.problems as { field: string }[]).map((p) => p.field)).toEqual(['output_fields']);
  });

  it('rejects a body that is not JSON with 400 and a JSON error', async () => {
    const { status, body } = await post('{"id": ');
    expect(status).toBe(400);
    expect(body.problems).toEqual([expect.objectContaining({ field: '(body)' })]);
  });

  it('rejects unknown fields, so typos in forwarder mappings are caught', async () => {
    const { status, body } = await post({ ...makeAlert(), sevrity: 'high' });
    expect(status).toBe(400);
    expect(JSON.stringify(body.problems)).toContain('sevrity');
  });

  it('keeps secret values out of workflow history: evidence secrets become fingerprints', async () => {
    const secret = `ghp_${randomUUID()}`;
    const alert = makeAlert({ evidence: { token: secret, repository: 'acme/site' } });
    const { body } = await post(alert);

    const text = await decodedHistoryText(h.env.client.workflow.getHandle(body.workflowId as string));
    expect(text).not.toContain(secret);
    expect(text).toContain('acme/site');
  });

  it('reports health of itself and Temporal', async () => {
    const res = await fetch(`${baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', temporal: 'ok' });
  });
});
