// The whole service as users run it: `src/main.ts` (what `npm start` runs) as a real process.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { resolveTemporalCli } from '../src/temporal/binaries';
import { finished, freePort, ROOT, runTs, spawnTs } from './support/processes';

interface Instance {
  env: Record<string, string>;
  http: string;
  temporal: string;
  process: ChildProcess;
  exit: ReturnType<typeof finished>;
}

const dirs: string[] = [];
const running = new Set<Instance>();

async function instanceEnv(dataDir?: string): Promise<Record<string, string>> {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'cordon-service-'));
  dirs.push(dir);
  return {
    CORDON_DATA_DIR: dir,
    CORDON_HTTP_PORT: String(await freePort()),
    CORDON_DEV_SERVER_PORT: String(await freePort()),
    CORDON_UI_PORT: String(await freePort()),
    CORDON_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    CORDON_LOG_LEVEL: 'warn',
  };
}

async function startService(env: Record<string, string>): Promise<Instance> {
  const child = spawnTs('src/main.ts', [], env);
  const instance: Instance = {
    env,
    http: `http://127.0.0.1:${env.CORDON_HTTP_PORT}`,
    temporal: `127.0.0.1:${env.CORDON_DEV_SERVER_PORT}`,
    process: child,
    exit: finished(child),
  };
  running.add(instance);
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited: ${(await instance.exit).stderr}`);
      expect((await fetch(`${instance.http}/healthz`)).status).toBe(200);
    },
    { timeout: 60_000, interval: 250 },
  );
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
    const [a, b] = await Promise.all([startService(await instanceEnv()), startService(await instanceEnv())]);

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

    const again = await startService(a.env);
    const status = await cordon(again, ['status', 'contain:simulated:svc-deploy-bot']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      alerts: [expect.objectContaining({ id: 'gh-secret-scanning-4711' })],
    });
    const merged = await cordon(again, ['alert', 'send', path.join(ROOT, 'examples/alerts/anomalous-usage.json')]);
    expect(JSON.parse(merged.stdout)).toMatchObject({ disposition: 'merged' });
    expect(await stopService(again)).toBe(0);
  });
});

describe('the cordon CLI', () => {
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

  it('exits 1 when Temporal cannot be reached', async () => {
    const env = { ...(await instanceEnv()), TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
    const result = await runTs('bin/cordon.js', ['status', 'contain:simulated:x'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cordon: /);
  });
});
