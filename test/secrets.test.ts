// Invariant 6: no secret value in logs, audit, workflow history or errors — fingerprints only.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log';
import { buildIntake } from '../src/intake/server';
import { fingerprint } from '../src/digest';
import { auditQuery, statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { containment, waitForStatus } from './support/scenario';

let logText = '';
const capture = new Writable({
  write(chunk, _encoding, done) {
    logText += chunk.toString();
    done();
  },
});
const logger = createLogger('trace', capture);
const h = useHarness({ logger, webhook: true });
let baseUrl: string;
let intake: ReturnType<typeof buildIntake>;

beforeAll(async () => {
  intake = buildIntake({ client: h.env.client, taskQueue: h.taskQueue, logger });
  baseUrl = await intake.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => intake?.close());

describe('secret values', () => {
  it('a leaked token in evidence and a rotated credential appear only as fingerprints', async () => {
    const leaked = `ghp_${randomUUID().replaceAll('-', '')}`;
    const id = h.inventory.add('auto');
    const res = await fetch(`${baseUrl}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer forwarder-secret-123' },
      body: JSON.stringify({ ...h.alertFor(id), evidence: { token: leaked, nested: { apiKey: leaked } } }),
    });
    expect(res.status).toBe(200);
    const handle = containment(h.env.client, id);
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    const { rows } = await h.db.query<{ secret: string }>(
      'SELECT secret FROM simulated_secret_store WHERE identity_id = $1',
      [id],
    );
    const rotated = rows[0].secret;

    const stored = await h.db.query('SELECT entry FROM audit_entries WHERE workflow_id = $1', [handle.workflowId]);
    const places = {
      history: await decodedHistoryText(handle),
      status: JSON.stringify(await handle.query(statusQuery)),
      audit: JSON.stringify(await handle.query(auditQuery)) + JSON.stringify(stored.rows),
      webhooks: JSON.stringify(h.webhook.received),
      logs: logText,
    };
    expect(logText).toContain(handle.workflowId); // the capture works: the intake logged this alert
    for (const [place, text] of Object.entries(places)) {
      expect(text, place).not.toContain(leaked);
      expect(text, place).not.toContain(rotated);
      expect(text, place).not.toContain('forwarder-secret-123');
    }
    expect(places.history).toContain(fingerprint(leaked));
    expect(status.applied.find((a) => a.action === 'rotate')?.detail.secretFingerprint).toBe(fingerprint(rotated));
  });
});
