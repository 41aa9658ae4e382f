// The whole service as users run it: `src/main.ts` (what `npm start` runs) as a real process.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { connectClient } from '../src/client/connect';
import { dataConverterFor } from '../src/codec';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db';
import { digestOf, fingerprint } from '../src/digest';
import { EvidenceStore } from '../src/evidence/store';
import { resolveTemporalCli } from '../src/temporal/binaries';
import { newToken } from '../src/intake/sources';
import { decodedHistoryText } from './support/history';
import {
  freePort,
  listening,
  ROOT,
  runTs,
  startServiceProcess,
  type Finished,
  embeddedServiceEnv,
} from './support/processes';

interface Instance {
  env: Record<string, string>;
  http: string;
  temporal: string;
  process: ChildProcess;
  exit: Promise<Finished>;
}

const dirs: string[] = [];
const running = new Set<Instance>();

async function instanceEnv(dataDir?: string): Promise<Record<string, string>> {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'cordon-service-'));
  dirs.push(dir);
  return embeddedServiceEnv(dir);
}

async function startService(env: Record<string, string>, viaNpm = false): Promise<Instance> {
  const { child, exit, http } = await startServiceProcess(env, { viaNpm });
  const instance: Instance = { env, http, temporal: `127.0.0.1:${env.CORDON_DEV_SERVER_PORT}`, process: child, exit };
  running.add(instance);
  return instance;
}

async function stopService(instance: Instance): Promise<number | null> {
  instance.process.kill('SIGTERM');
  const { code } = await instance.exit;
  running.delete(instance);
  return code;
}

function temporalCli(instance: Instance, args: string[]): string {
  const cli = resolveTemporalCli().path as string;
  return execFileSync(cli, [...args, '--address', instance.temporal], { encoding: 'utf8' });
}

const cordon = (instance: Instance, args: string[]) => runTs('bin/cordon.js', args, instance.env);

afterAll(async () => {
  await Promise.all([...running].map(stopService));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the service (npm start)', () => {
  it('runs two instances side by side, keeps workflows across restarts and stops cleanly on SIGTERM', async () => {
    const [a, b] = await Promise.all([startService(await instanceEnv(), true), startService(await instanceEnv())]);

    const alertFile = path.join(ROOT, 'examples/alerts/secret-leak.json');
    const sent = await cordon(a, ['alert', 'send', alertFile]);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      workflowId: 'contain:simulated:svc-deploy-bot',
      disposition: 'started',
    });

    const viaHttp = await fetch(`${b.http}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'b-1',
        source: 'curl',
        kind: 'impossible_travel',
        severity: 'medium',
        confidence: 0.7,
        identity: { provider: 'simulated', id: 'svc-only-on-b' },
      }),
    });
    expect(await viaHttp.json()).toMatchObject({ disposition: 'started' });

    expect(temporalCli(a, ['workflow', 'list'])).toContain('contain:simulated:svc-deploy-bot');
    expect(temporalCli(a, ['workflow', 'list'])).not.toContain('svc-only-on-b');
    expect(temporalCli(b, ['workflow', 'list'])).toContain('contain:simulated:svc-only-on-b');

    expect(await Promise.all([stopService(a), stopService(b)])).toEqual([0, 0]);
    // The embedded dev servers stopped with their services: nothing listens on their ports.
    for (const instance of [a, b]) expect(await listening(Number(instance.env.CORDON_DEV_SERVER_PORT))).toBe(false);

    const again = await startService(a.env);
    const status = await cordon(again, ['status', 'contain:simulated:svc-deploy-bot']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      alerts: [expect.objectContaining({ id: 'gh-secret-scanning-4711' })],
    });
    const merged = await cordon(again, ['alert', 'send', path.join(ROOT, 'examples/alerts/anomalous-usage.json')]);
    expect(JSON.parse(merged.stdout)).toMatchObject({ disposition: 'merged' });
    expect(await stopService(again)).toBe(0);
  }, 600_000); // three service start-ups and two embedded dev servers on a loaded 2-core machine
});

describe('the intake with a sources file', { timeout: 180_000 }, () => {
  it('admits only authenticated forwarders and serves its metrics with the worker Temporal metrics', async () => {
    const env = await instanceEnv();
    const { token, hash } = newToken();
    const sourcesFile = path.join(env.CORDON_DATA_DIR, 'sources.yaml');
    writeFileSync(sourcesFile, `sources:\n  - name: aws-security\n    formats: [guardduty]\n    tokens: ["${hash}"]\n`);
    const service = await startService({ ...env, CORDON_SOURCES_FILE: sourcesFile });
    const post = (headers: Record<string, string>) =>
      fetch(`${service.http}/v1/alerts/guardduty`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: readFileSync(path.join(ROOT, 'examples/alerts/guardduty-eventbridge.json')),
      });

    expect((await post({})).status).toBe(401);
    const accepted = await post({ authorization: `Bearer ${token}` });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({
      workflowId: 'contain:aws-iam:svc-payments',
      disposition: 'started',
      format: 'guardduty',
    });

    const metrics = await (await fetch(`${service.http}/metrics`)).text();
    expect(metrics).toMatch(/^cordon_alerts_accepted_total\{format="guardduty",disposition="started"\} 1$/m);
    expect(metrics).toMatch(/^cordon_alerts_rejected_total\{format="guardduty",reason="unauthenticated"\} 1$/m);
    expect(metrics).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
    expect(await stopService(service)).toBe(0);
  });
});

describe('cordon alert send through the running service', () => {
  it("goes through the service's intake: its size limit, validation, fingerprints, evidence store and metrics", async () => {
    const env: Record<string, string> = { ...(await instanceEnv()), CORDON_EVIDENCE_INLINE_BYTES: '1024' };
    const service = await startService(env);
    const file = (name: string, content: unknown) => {
      const at = path.join(env.CORDON_DATA_DIR, name);
      writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
      return at;
    };
    const alert = (id: string, evidence?: Record<string, unknown>) => ({
      id: `send-${id}`,
      source: 'cli-test',
      kind: 'secret_leak',
      severity: 'high',
      confidence: 0.95,
      identity: { provider: 'simulated', id },
      ...(evidence && { evidence }),
    });
    const metric = async (labels: string) => {
      const text = await (await fetch(`${service.http}/metrics`)).text();
      return Number(new RegExp(`^cordon_alerts_\\w+_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };

    // 2 MB of evidence: refused before it is read, let alone sent; the service never saw it.
    const huge = await cordon(service, [
      'alert',
      'send',
      file('huge.json', alert('svc-huge', { blob: 'x'.repeat(2e6) })),
    ]);
    expect([huge.code, huge.stderr]).toEqual([2, expect.stringContaining('exceeds 1048576 bytes')]);
    expect(huge.stderr).toContain('CORDON_MAX_BODY_BYTES');
    expect((await cordon(service, ['status', 'contain:simulated:svc-huge'])).stderr).toContain('no such workflow');

    const invalid = await cordon(service, [
      'alert',
      'send',
      file('invalid.json', { ...alert('svc-bad'), confidence: 7 }),
    ]);
    expect([invalid.code, invalid.stderr]).toEqual([
      2,
      expect.stringMatching(/invalid native alert.*\n {2}confidence: /),
    ]);
    expect(await metric('format="native",reason="invalid_alert"')).toBe(1);

    const token = `tok-${Date.now()}-Zq8Lm3Xr7Pv2Wn5K`;
    const secret = await cordon(service, ['alert', 'send', file('secret.json', alert('svc-secret', { token }))]);
    expect(JSON.parse(secret.stdout)).toMatchObject({
      workflowId: 'contain:simulated:svc-secret',
      disposition: 'started',
    });
    const large = { lines: Array.from({ length: 60 }, (_, i) => `build step ${i} passed without incident`) };
    const stored = await cordon(service, ['alert', 'send', file('large.json', alert('svc-large', large))]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(await metric('format="native",disposition="started"')).toBe(2);

    const config = loadConfig(env);
    const client = await connectClient(config);
    try {
      const history = (id: string) =>
        decodedHistoryText(
          client.workflow.getHandle(`contain:simulated:${id}`),
          dataConverterFor(config).payloadCodecs![0],
        );
      const secretHistory = await history('svc-secret');
      expect(secretHistory).not.toContain(token);
      expect(secretHistory).toContain(fingerprint(token));
      const largeHistory = await history('svc-large');
      expect(largeHistory).toContain(digestOf(large));
      expect(largeHistory).not.toContain('build step 42');
    } finally {
      await client.connection.close();
    }
    expect(await stopService(service)).toBe(0);
    const db = await openDatabase({ dataDir: env.CORDON_DATA_DIR });
    try {
      expect(await new EvidenceStore(db).read(digestOf(large))).toEqual(large);
    } finally {
      await db.close();
    }
  }, 120_000);
});

describe('the audit CLI', { timeout: 180_000 }, () => {
  it('reads the embedded store through the running service, and directly once it stopped', async () => {
    const env = await instanceEnv();
    const service = await startService(env);
    const secret = `ghp_${Date.now()}SecretValue`;
    const alertFile = path.join(env.CORDON_DATA_DIR, 'ci-token-leak.json');
    writeFileSync(
      alertFile,
      JSON.stringify({
        id: 'audit-1',
        source: 'cli-test',
        kind: 'secret_leak',
        severity: 'high',
        confidence: 0.95,
        identity: { provider: 'simulated', id: 'ci-job-token-7f3a' },
        evidence: { token: secret },
      }),
    );
    const workflowId = 'contain:simulated:ci-job-token-7f3a';
    expect((await cordon(service, ['alert', 'send', alertFile])).code).toBe(0);
    await vi.waitFor(
      async () => {
        expect(JSON.parse((await cordon(service, ['status', workflowId])).stdout).outcome).toBe('contained');
      },
      { timeout: 30_000, interval: 500 },
    );

    await vi.waitFor(
      async () => {
        const listed = await cordon(service, ['audit', 'list', '--workflow', workflowId]);
        expect(listed.stdout).toContain('action.applied');
      },
      { timeout: 30_000, interval: 500 },
    );
    const verified = await cordon(service, ['audit', 'verify']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ intact: true, chains: 1, problems: [] });
    const exported = await cordon(service, ['audit', 'export', '--format', 'jsonl']);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(5);
    expect(exported.stdout).not.toContain(secret);
    const rebuilt = await cordon(service, ['audit', 'rebuild', '--from-history']);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ matches: true });
    expect(rebuilt.code).toBe(0);
    expect(await stopService(service)).toBe(0);

    // Tamper with one stored row, as someone with database access could.
    const db = await openDatabase({ dataDir: env.CORDON_DATA_DIR });
    await db.query('ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only');
    await db.query(
      `UPDATE audit_entries SET entry = jsonb_set(entry, '{actor}', '"mallory"') WHERE workflow_id = $1 AND seq = 3`,
      [workflowId],
    );
    await db.close();
    const broken = await runTs('bin/cordon.js', ['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`chain ${workflowId} (`);
    expect(broken.stderr).toContain('entry seq 3 does not follow from the one before it');
  });
});

describe('the cordon CLI', { timeout: 180_000 }, () => {
  it('approves, refuses, declares a false positive and drives the kill switch against a running service', async () => {
    const env = await instanceEnv();
    const bob = newToken();
    const approvers = path.join(env.CORDON_DATA_DIR, 'approvers.yaml');
    writeFileSync(approvers, `approvers:\n  - name: bob@example.com\n    tokens: ["${bob.hash}"]\n`);
    const service = await startService({ ...env, CORDON_APPROVERS_FILE: approvers });
    const alert = path.join(dirs[dirs.length - 1], 'payments-alert.json');
    writeFileSync(
      alert,
      JSON.stringify({
        id: 'cli-1',
        source: 'cli-test',
        kind: 'anomalous_usage',
        severity: 'high',
        confidence: 0.9,
        identity: { provider: 'simulated', id: 'svc-payments' },
      }),
    );
    const workflowId = 'contain:simulated:svc-payments';
    expect((await cordon(service, ['alert', 'send', alert])).code).toBe(0);
    const requestId = await vi.waitFor(
      async () => {
        const status = JSON.parse((await cordon(service, ['status', workflowId])).stdout);
        expect(status.pendingRequest?.requestId).toMatch(/^isolate-1-[0-9a-f]{10}$/);
        return status.pendingRequest.requestId as string;
      },
      { timeout: 30_000, interval: 500 },
    );

    const outsider = await cordon(service, [
      'approve',
      workflowId,
      '--request',
      requestId,
      '--as',
      'carol@example.com',
    ]);
    expect(outsider.code).toBe(2);
    expect(outsider.stderr).toContain('not in the approver groups');
    const stale = await cordon(service, ['deny', workflowId, '--request', 'revoke-7', '--as', 'bob@example.com']);
    expect(stale.code).toBe(2);
    const forged = await cordon(service, ['approve', workflowId, '--request', requestId, '--token', 'cdn_forged']);
    expect([forged.code, forged.stderr]).toEqual([2, expect.stringContaining('refused (401')]);
    // With a token the CLI goes through the decision API: the decision is bob's, verified.
    const approved = await runTs(
      'bin/cordon.js',
      ['approve', workflowId, '--request', requestId, '--reason', 'confirmed'],
      {
        ...service.env,
        CORDON_APPROVER_TOKEN: bob.token,
      },
    );
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({
      outcome: 'approved',
      approver: 'bob@example.com',
      approvals: 1,
    });

    const fp = await cordon(service, [
      'false-positive',
      workflowId,
      '--as',
      'alice@example.com',
      '--reason',
      'load test',
    ]);
    expect(fp.code).toBe(0);
    await vi.waitFor(
      async () => {
        expect(JSON.parse((await cordon(service, ['status', workflowId])).stdout).outcome).toBe('false-positive');
      },
      { timeout: 30_000, interval: 500 },
    );

    // Any approver group may engage the switch; only approvalDefaults.groups (secops) may release it.
    const engaged = await cordon(service, ['kill-switch', 'engage', '--as', 'erin@example.com', '--reason', 'drill']);
    expect(JSON.parse(engaged.stdout)).toMatchObject({ engaged: true, changedBy: 'erin@example.com', reason: 'drill' });
    expect(JSON.parse((await cordon(service, ['kill-switch', 'status'])).stdout).engaged).toBe(true);
    expect((await cordon(service, ['kill-switch', 'release'])).code).toBe(2);
    const outside = await cordon(service, ['kill-switch', 'release', '--as', 'erin@example.com']);
    expect([outside.code, outside.stderr]).toEqual([2, expect.stringContaining('not in the groups that may release')]);
    expect(JSON.parse((await cordon(service, ['kill-switch', 'release', '--token', bob.token])).stdout)).toMatchObject({
      engaged: false,
      changedBy: 'bob@example.com',
    });
    expect(await stopService(service)).toBe(0);
  });

  it('prints a plan without Temporal, and exits 2 naming the field of a broken policy', async () => {
    const base = await instanceEnv();
    const env = { ...base, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const example = path.join(ROOT, 'examples/alerts/secret-leak.json');
    const table = await runTs('bin/cordon.js', ['plan', example], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^rule {6}high-confidence-compromise\n/);
    expect(table.stdout).toMatch(/^STAGE +ACTION +APPROVAL +DEADLINE +ON-TIMEOUT +REVERSIBLE +REASON$/m);
    const planned = await runTs('bin/cordon.js', ['plan', '--json', example], env);
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout)).toMatchObject({
      rule: 'high-confidence-compromise',
      policyDigest: expect.stringMatching(/^sha256:/),
    });

    const broken = path.join(base.CORDON_DATA_DIR, 'policy.yaml');
    writeFileSync(broken, 'version: x\napproverGroups: {}\n');
    const result = await runTs(
      'bin/cordon.js',
      ['plan', path.join(ROOT, 'examples/alerts/secret-leak.json'), '--policy', broken],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('approvalDefaults');
  });

  it('plans forwarder formats from files, detected or named, and exits 2 naming the field of a mismatch', async () => {
    const env = { ...(await instanceEnv()), TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const finding = path.join(ROOT, 'examples/alerts/guardduty-finding.json');
    for (const args of [
      ['plan', '--json', finding],
      ['plan', '--json', '--format', 'guardduty', finding],
    ]) {
      const planned = await runTs('bin/cordon.js', args, env);
      expect(planned.code).toBe(0);
      expect(JSON.parse(planned.stdout).stages).toEqual(expect.any(Array));
    }
    const mismatch = await runTs('bin/cordon.js', ['plan', '--format', 'ocsf', finding], env);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('invalid ocsf alert');
    expect(mismatch.stderr).toContain('class_uid:');
  });

  it('exits 2 with the failing fields for an invalid alert file, without contacting Temporal', async () => {
    const env = { ...(await instanceEnv()), TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const result = await runTs('bin/cordon.js', ['alert', 'send', '-'], env, '{"id":"x","kind":"secret_leak"}');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/source:/);
    expect(result.stderr).toMatch(/identity:/);
  });

  it('exits 2 for a missing file and for unknown commands', async () => {
    const env = await instanceEnv();
    expect((await runTs('bin/cordon.js', ['alert', 'send', '/nonexistent.json'], env)).code).toBe(2);
    expect((await runTs('bin/cordon.js', ['frobnicate'], env)).code).toBe(2);
  });

  it('the service refuses an unknown option, and --sandbox beside a shared Temporal or database, with exit 2', async () => {
    const env = await instanceEnv();
    const unknown = await runTs('src/main.ts', ['--sandbx'], env);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown option --sandbx') });
    const shared: Record<string, string>[] = [
      { TEMPORAL_ADDRESS: '127.0.0.1:7233' },
      { DATABASE_URL: 'postgres://127.0.0.1/cordon' },
    ];
    for (const setting of shared) {
      const refused = await runTs('src/main.ts', ['--sandbox'], { ...env, ...setting });
      expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('must be unset with --sandbox') });
    }
  });

  it('exits 1 when Temporal cannot be reached', async () => {
    const env = { ...(await instanceEnv()), TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
    const result = await runTs('bin/cordon.js', ['status', 'contain:simulated:x'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cordon: /);
  });
});
