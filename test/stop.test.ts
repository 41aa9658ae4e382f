// How the service stops: a terminal's Ctrl-C reaches the whole process group (npm and the
// service), yet every shutdown step is logged and done in order; and how the next start deals
// with a service that never got to stop.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  killGroup,
  listening,
  runTs,
  startServiceProcess,
  type ServiceProcess,
  embeddedServiceEnv,
} from './support/processes';

const dirs: string[] = [];
const started: ServiceProcess[] = [];
afterAll(() => {
  for (const { child } of started)
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid!, 'SIGKILL');
  // A dev server runs in its own group: one a failed test left behind is named in its lock.
  for (const dir of dirs) {
    const lock = path.join(dir, 'service.json');
    const { devServerPid } = existsSync(lock)
      ? (JSON.parse(readFileSync(lock, 'utf8')) as { devServerPid?: number })
      : {};
    if (devServerPid) killGroup(devServerPid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

async function serviceEnv(): Promise<Record<string, string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-stop-'));
  dirs.push(dir);
  return embeddedServiceEnv(dir, 'info');
}

// As a user runs it: `npm start`, in a process group of its own, as a terminal would have it.
async function start(env: Record<string, string>): Promise<ServiceProcess> {
  const service = await startServiceProcess(env, { viaNpm: true });
  started.push(service);
  return service;
}

const steps = (output: string) => [...output.matchAll(/"step":"([^"]+)","msg":"shutdown step done"/g)].map((m) => m[1]);
const lockFile = (env: Record<string, string>) => path.join(env.CORDON_DATA_DIR, 'service.json');

describe('stopping the service', () => {
  it('on SIGINT to its process group logs every shutdown step, drains the worker, stops the dev server and removes its lock', async () => {
    const env = await serviceEnv();
    const service = await start(env);
    expect(existsSync(lockFile(env))).toBe(true);

    killGroup(service.child.pid!, 'SIGINT');
    expect((await service.exit).code).toBe(0);

    const done = steps(service.output());
    expect(done).toEqual(
      expect.arrayContaining(['intake closed', 'worker drained', 'dev server stopped', 'data dir released']),
    );
    // Reverse start order: no alerts in, the worker drains, then the server it drained against stops.
    expect(done.indexOf('intake closed')).toBeLessThan(done.indexOf('worker drained'));
    expect(done.indexOf('worker drained')).toBeLessThan(done.indexOf('dev server stopped'));
    expect(done.at(-1)).toBe('data dir released');
    expect(service.output()).toContain('"msg":"stopped"');
    expect(await listening(Number(env.CORDON_DEV_SERVER_PORT))).toBe(false);
    expect(existsSync(lockFile(env))).toBe(false);
  }, 300_000);

  it('reports and replaces the lock of a service that was killed, stopping the dev server it left running', async () => {
    const env = await serviceEnv();
    const killed = await start(env);
    killGroup(killed.child.pid!, 'SIGKILL');
    await killed.exit;
    // The dev server runs in a group of its own: it outlived the service, and the lock says so.
    expect(existsSync(lockFile(env))).toBe(true);
    expect(await listening(Number(env.CORDON_DEV_SERVER_PORT))).toBe(true);

    const again = await start(env);
    expect(again.output()).toContain('replacing the lock of a Cordon that did not stop cleanly');
    expect(again.output()).toContain('stopping the dev server a Cordon that did not stop cleanly left running');
    killGroup(again.child.pid!, 'SIGTERM');
    expect((await again.exit).code).toBe(0);
    expect(existsSync(lockFile(env))).toBe(false);
    expect(await listening(Number(env.CORDON_DEV_SERVER_PORT))).toBe(false);
  }, 420_000);

  it('refuses, with exit 2, to start on a data dir a running service owns', async () => {
    const env = await serviceEnv();
    const first = await start(env);
    const second = await runTs('src/main.ts', [], { ...env, CORDON_HTTP_PORT: String(await freePort()) });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`invalid CORDON_DATA_DIR: in use by a running Cordon (pid `);
    killGroup(first.child.pid!, 'SIGTERM');
    expect((await first.exit).code).toBe(0);
  }, 300_000);
});
