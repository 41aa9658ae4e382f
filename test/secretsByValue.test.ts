// Issue-21 attack: credentials placed anywhere in an alert or a person's reason. None may reach
// history (decrypted or not), logs, notifications, the audit store or metrics; payloads on the
// server are encrypted, and the Web UI's codec endpoint decodes them for loopback only.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec, newKeyEntry, parsePayloadKeys } from '../src/codec';
import { fingerprint } from '../src/digest';
import type { Alert } from '../src/alerts';
import { redactAlert, redactAlertFields, secretsFoundBySecretlint } from '../src/secrets';
import { control } from '../src/cli/decisionCommands';
import {
  approveSignal,
  decideUpdate,
  falsePositiveSignal,
  statusQuery,
  type ContainmentStatus,
} from '../workflows/definitions';
import { example } from './support/formats';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { startIntake } from './support/intake';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { secretPlacements } from './support/secretPlacements';
import { recordingLogger } from './support/captured';

const { logger, text: logText } = recordingLogger();
const codec = new AesGcmCodec(parsePayloadKeys(newKeyEntry(), 'test key'));
const h = useHarness({ logger, webhook: true, dataConverter: { payloadCodecs: [codec] } });
const UI = 'http://127.0.0.1:8233';
let intake: Awaited<ReturnType<typeof startIntake>>;
beforeAll(async () => {
  intake = await startIntake(h.env.client, h.taskQueue, {
    logger,
    sources: undefined,
    codec: { codec, uiOrigins: [UI] },
  });
});
afterAll(() => intake?.close());

type ClaimRun = { claim: (client: Client) => Promise<unknown> };
const placements = secretPlacements();
const nativeAlert = (id: string) => ({
  ...h.alertFor(id),
  summary: placements.flatMap((p) => p.summary ?? []).join('; '),
  evidence: Object.fromEntries(placements.flatMap((p, i) => (p.evidence ? [[`p${i}`, p.evidence]] : []))),
});

describe('secrets found by value', () => {
  it.each(placements)('$name: redacted on the intake path and the workflow path alike', async (p) => {
    const alert = { ...h.alertFor('svc'), summary: p.summary, evidence: p.evidence };
    for (const redacted of [await redactAlert(alert), redactAlertFields(alert)]) {
      expect(JSON.stringify(redacted)).not.toContain(p.secret);
      expect(JSON.stringify(redacted)).toMatch(/sha256:[0-9a-f]{64}/);
    }
  });

  it("secretlint's maintained rules run on every string, keys included", async () => {
    const sendgrid = `SG.${'Ab1'.padEnd(22, 'x')}.${'Cd2'.padEnd(43, 'y')}`;
    const found = await secretsFoundBySecretlint({ summary: 'x', evidence: { [`mail ${sendgrid}`]: 1 } });
    expect([...found]).toEqual([sendgrid]);
  });

  it('the example alerts lose nothing but the leaked token: no false positive in ids, names or text', async () => {
    const anomalous = example('anomalous-usage.json') as Alert;
    expect(await redactAlert(anomalous)).toEqual(anomalous);
    const leak = example('secret-leak.json') as Alert;
    const token = leak.evidence!.token as string;
    expect(await redactAlert(leak)).toEqual({ ...leak, evidence: { ...leak.evidence, token: fingerprint(token) } });
  });
});

describe('every placement through the running service', () => {
  it('reaches no history, log, notice, audit row or metric, in any format or reason', async () => {
    const id = h.inventory.add('gated');
    const native = await intake.post('/v1/alerts', nativeAlert(id));
    expect(native.status).toBe(200);
    const [token, keyId, rule, agent] = [0, 1, 2, 3].map(() => `ghp_Ab1x${randomUUID().replaceAll('-', '')}`);
    const ocsf = example('ocsf-detection-finding.json');
    ocsf.finding_info.title = `Key ${token} used from an unfamiliar network`;
    const guardduty = example('guardduty-finding.json');
    guardduty.Title = `Credentials ${keyId} used remotely`;
    const falco = example('falco-k8s-audit.json');
    falco.rule = `Token ${rule} read`;
    falco.output_fields['ka.useragent'] = `kubectl --token=${agent}`;
    const others = await Promise.all([ocsf, guardduty, falco].map((body) => intake.post('/v1/alerts', body)));
    expect(others.map((r) => r.status)).toEqual([200, 200, 200]);

    const handle = h.env.client.workflow.getHandle(native.body.workflowId);
    await pendingRequestId(handle, 'isolate');
    // A name nobody holds is refused, and recorded as refused: with its secret fingerprinted.
    // Through the CLI's claim (the path a person uses without a token): redacted before it leaves.
    const claim = (as: string, reason?: string) =>
      (control(handle.workflowId, 'false-positive', { as, reason }) as ClaimRun).claim(h.env.client);
    await expect(claim(`alice password=${placements[0].secret}`)).rejects.toThrow(/not in the groups/);
    await claim('alice', `rotated ${placements[19].secret}`);
    const result = (await handle.result()) as ContainmentStatus;
    expect(result.outcome).toBe('false-positive');
    expect(result.rejectedInputs.map((r) => r.code)).toEqual(['forbidden']);

    const handles = [native, ...others].map((r) => h.env.client.workflow.getHandle(r.body.workflowId));
    const raw = await Promise.all(handles.map((x) => decodedHistoryText(x)));
    const places = {
      history: (await Promise.all(handles.map((x) => decodedHistoryText(x, codec)))).join('\n'),
      status: JSON.stringify(await Promise.all(handles.map((x) => x.query(statusQuery)))),
      audit: JSON.stringify((await h.db.query('SELECT entry FROM audit_entries')).rows),
      notices: JSON.stringify(h.webhook.received),
      logs: logText(),
      metrics: await intake.metrics(),
    };
    const secrets = [...placements.map((p) => p.secret), token, keyId, rule, agent];
    for (const [place, text] of Object.entries(places)) {
      for (const secret of secrets) expect(text.includes(secret), `${place} holds ${secret.slice(0, 12)}…`).toBe(false);
    }
    // Each check could have failed: the places hold the case, and its fingerprints.
    expect(places.history).toContain(fingerprint(placements[0].secret));
    expect(places.audit).toContain('false-positive.declared');
    expect(places.notices).toContain(native.body.workflowId);
    expect(logText()).toContain(native.body.workflowId);
    // Encrypted at rest on the server: not even the summary's plain words are readable in the raw
    // history (ids stay readable: the workflow id and search attributes name the identity).
    expect(places.history).toContain('pushed to acme/api');
    expect(raw[0].includes('pushed to acme/api')).toBe(false);
  });
});

describe('claims sent straight through Temporal', () => {
  it('keep only fingerprints in status, notices and the audit: signals and updates alike', async () => {
    const id = h.inventory.add('two-of-n');
    await h.send(h.alertFor(id));
    const handle = h.env.client.workflow.getHandle(`contain:simulated:${id}`);
    const requestId = await pendingRequestId(handle);
    const [reason, name, request] = [0, 1, 2].map(() => `ghp_Ab1x${randomUUID().replaceAll('-', '')}`);
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: `looks fine ${reason}` });
    const refused = handle.executeUpdate(decideUpdate, { args: [{ requestId, decision: 'approve', approver: name }] });
    await expect(refused).rejects.toThrow();
    await handle.signal(approveSignal, { requestId: request, approver: 'bob' });
    // The request still waits for a second approver, and reports the first one's reason.
    const waiting = await waitForStatus(handle, (s) => expect(s.pendingRequest?.approvals).toHaveLength(1));
    await handle.signal(falsePositiveSignal, { by: 'alice', reason: `monitor ${reason}` });
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('false-positive'));
    const failure = await refused.catch((err: Error & { cause?: Error }) => `${err.message} ${err.cause?.message}`);
    const places = {
      status: JSON.stringify([waiting, status]),
      audit: JSON.stringify(
        (await h.db.query('SELECT entry FROM audit_entries WHERE workflow_id = $1', [handle.workflowId])).rows,
      ),
      notices: JSON.stringify(h.webhook.received),
      failure: String(failure),
    };
    for (const [place, text] of Object.entries(places))
      for (const secret of [reason, name, request])
        expect(text.includes(secret), `${place} holds ${secret.slice(0, 12)}…`).toBe(false);
    expect(places.audit).toContain(fingerprint(reason));
    expect(status.rejectedInputs.map((r) => r.code)).toEqual(['forbidden', 'stale']);
  });
});

describe('the codec endpoint', () => {
  it('decodes for a loopback page from the Web UI, and for nobody else', async () => {
    const [encrypted] = await codec.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') },
    ]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(encrypted.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(encrypted.data!).toString('base64'),
        },
      ],
    };
    const res = await fetch(`${intake.url}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: UI, 'x-namespace': 'default' },
      body: JSON.stringify(body),
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const [decoded] = ((await res.json()) as typeof body).payloads;
    expect(Buffer.from(decoded.data, 'base64').toString()).toBe('"hello"');

    const remote = await intake.app.inject({
      method: 'POST',
      url: '/codec/decode',
      remoteAddress: '10.1.2.3',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      payload: JSON.stringify(body),
    });
    expect(remote.statusCode).toBe(403);
    expect(remote.headers['access-control-allow-origin']).toBeUndefined();
    // A page of another origin, or one that reached loopback under its own host name, is refused.
    const foreign = async (headers: Record<string, string>) =>
      (
        await intake.app.inject({
          method: 'POST',
          url: '/codec/decode',
          headers: { 'content-type': 'application/json', ...headers },
          payload: JSON.stringify(body),
        })
      ).statusCode;
    expect(await foreign({ origin: 'https://evil.example', host: '127.0.0.1' })).toBe(403);
    expect(await foreign({ origin: UI, host: 'rebound.evil.example:8080' })).toBe(403);
    expect(await foreign({ origin: UI, host: '127.0.0.1:8080' })).toBe(200);
    const bad = await intake.post('/codec/decode', { payloads: [{ data: '%%%' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.problems[0].field).toBe('payloads.0.data');
  });

  it('rotates keys: the new key encrypts, the old one still decrypts, a missing one is named', async () => {
    const [oldEntry, newEntry] = [newKeyEntry(), newKeyEntry()];
    const before = new AesGcmCodec(parsePayloadKeys(oldEntry, 'old'));
    const after = new AesGcmCodec(parsePayloadKeys(`${newEntry}\n${oldEntry}`, 'rotated'));
    const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') };
    const [sealedBefore] = await before.encode([plain]);
    const [sealedAfter] = await after.encode([plain]);
    expect(Buffer.from((await after.decode([sealedBefore]))[0].data!).toString()).toBe('{"a":1}');
    expect(Buffer.from(sealedAfter.metadata!['encryption-key-id']).toString()).toBe(newEntry.split(':')[0]);
    await expect(before.decode([sealedAfter])).rejects.toThrow(
      `key ${newEntry.split(':')[0]}, which this process does not hold`,
    );
    expect(() => parsePayloadKeys('k1:short', 'CORDON_PAYLOAD_KEYS')).toThrow(
      'key 1 must be <id>:<base64 of 32 bytes>',
    );
  });
});
