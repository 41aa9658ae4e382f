// `cordon alert send` with no running service: the CLI process runs the intake's pipeline itself
// against Temporal (the harness's dev server and worker) and the store in its data folder. The
// path through a running service is in service.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts';
import { openDatabase } from '../src/db';
import { digestOf, fingerprint } from '../src/digest';
import { EvidenceStore } from '../src/evidence/store';
import { redactAlert } from '../src/secrets';
import { statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { startIntake } from './support/intake';
import { runTs } from './support/processes';
import { containment, waitForStatus } from './support/scenario';

const h = useHarness();
const dataDir = mkdtempSync(path.join(tmpdir(), 'cordon-alert-send-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const LIMITS = { CORDON_MAX_BODY_BYTES: '4096', CORDON_EVIDENCE_INLINE_BYTES: '1024' };
const cli = (args: string[], stdin?: string) =>
  runTs(
    'bin/cordon.js',
    ['alert', 'send', ...args],
    { TEMPORAL_ADDRESS: h.env.address, CORDON_TASK_QUEUE: h.taskQueue, CORDON_DATA_DIR: dataDir, ...LIMITS },
    stdin,
  );
let files = 0;
function alertFile(content: unknown): string {
  const file = path.join(dataDir, `alert-${++files}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
const notStarted = (id: string) =>
  containment(h.env.client, id)
    .describe()
    .then(
      () => 'started',
      (err) => (err instanceof WorkflowNotFoundError ? 'not started' : err),
    );

describe('cordon alert send without a running service', () => {
  it('starts the case as before', async () => {
    const id = h.inventory.add('auto');
    const sent = await cli([alertFile(h.alertFor(id))]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      workflowId: `contain:simulated:${id}`,
      disposition: 'started',
      format: 'native',
    });
    await waitForStatus(containment(h.env.client, id), (s) => expect(s.outcome).toBe('contained'));
  });

  it('refuses a file over CORDON_MAX_BODY_BYTES with exit 2 naming the limit, and starts nothing', async () => {
    const id = h.inventory.add('auto');
    const big = h.alertFor(id, { evidence: { blob: 'x'.repeat(5_000) } });
    for (const sent of [await cli([alertFile(big)]), await cli(['-'], JSON.stringify(big))]) {
      expect(sent.code).toBe(2);
      expect(sent.stderr).toMatch(/exceeds 4096 bytes, the largest alert Cordon takes \(CORDON_MAX_BODY_BYTES\)/);
    }
    expect(await notStarted(id)).toBe('not started');
  });

  it('exits 2 naming the field of an invalid alert, and starts nothing', async () => {
    const id = h.inventory.add('auto');
    const sent = await cli([alertFile({ ...h.alertFor(id), severity: 'apocalyptic' })]);
    expect(sent.code).toBe(2);
    expect(sent.stderr).toMatch(/invalid native alert in .*alert-\d+\.json \(400\):\n {2}severity: /);
    expect(await notStarted(id)).toBe('not started');
    // The intake's own checks: a forwarder may not claim the intake's stored-evidence shape.
    const forged = { evidenceRef: digestOf({ made: 'up' }), evidenceBytes: 5 };
    const refused = await cli([alertFile(h.alertFor(id, { evidence: forged }))]);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringMatching(/evidence: evidenceRef and evidenceBytes/),
    ]);
  });

  it('fingerprints secrets in evidence exactly as the intake does: the raw values never reach the history', async () => {
    const [viaCli, viaHttp] = [h.inventory.add('auto'), h.inventory.add('auto')];
    const token = `tok-${Date.now()}-Zq8Lm3Xr7Pv2Wn5K`;
    const pat = `ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'}`;
    const evidence = { token, log: `pushed ${pat} to the build log` };
    const sent = await cli([alertFile(h.alertFor(viaCli, { evidence }))]);
    expect(sent.code, sent.stderr).toBe(0);

    const history = await decodedHistoryText(containment(h.env.client, viaCli));
    expect(history).not.toContain(token);
    expect(history).not.toContain(pat);
    expect(history).toContain(fingerprint(token));

    const intake = await startIntake(h.env.client, h.taskQueue, { sources: undefined });
    try {
      expect((await intake.post('/v1/alerts', h.alertFor(viaHttp, { evidence }))).status).toBe(200);
    } finally {
      await intake.close();
    }
    const evidenceOf = async (id: string) =>
      (await containment(h.env.client, id).query(statusQuery)).alerts[0].evidence;
    expect(await evidenceOf(viaCli)).toEqual(await evidenceOf(viaHttp));
    // The case keeps the evidence's digest: the same digest is the same fingerprinted evidence.
    expect(await evidenceOf(viaCli)).toBe(digestOf((await redactAlert({ ...h.alertFor(viaCli), evidence })).evidence));
  });

  it('stores evidence over CORDON_EVIDENCE_INLINE_BYTES in the store; the history carries only its digest', async () => {
    const id = h.inventory.add('auto');
    const evidence = { lines: Array.from({ length: 60 }, (_, i) => `build step ${i} passed without incident`) };
    const alert: Alert = h.alertFor(id, { evidence });
    const sent = await cli([alertFile(alert)]);
    expect(sent.code, sent.stderr).toBe(0);
    const history = await decodedHistoryText(containment(h.env.client, id));
    expect(history).toContain(digestOf(evidence));
    expect(history).toContain('evidenceBytes');
    expect(history).not.toContain('build step 42');
    // The case's digest of the evidence is the same either way.
    expect((await containment(h.env.client, id).query(statusQuery)).alerts[0].evidence).toBe(digestOf(evidence));

    const db = await openDatabase({ dataDir });
    try {
      expect(await new EvidenceStore(db).read(digestOf(evidence))).toEqual(evidence);
    } finally {
      await db.close();
    }
  });
});
