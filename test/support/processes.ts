import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect, inject, vi } from 'vitest';

export const ROOT = path.resolve(__dirname, '..', '..');

import { freePort } from '../../src/net';
export { freePort };

/** Result of a finished command. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry point under node + tsx and collects its output. */
export function runTs(entry: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Finished> {
  const child = spawnTs(entry, args, env);
  if (stdin !== undefined) child.stdin?.end(stdin);
  return finished(child);
}

/** Spawns a TypeScript entry point under node + tsx, with extra env vars. */
export function spawnTs(entry: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves when the process exits, with everything it printed. */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The last lines of a process's output, for an error message. */
const tail = (output: string, lines = 30) => output.trimEnd().split('\n').slice(-lines).join('\n');

/** A running `src/main.ts` service process. */
export interface ServiceProcess {
  child: ChildProcess;
  exit: Promise<Finished>;
  http: string;
  /** What it printed on stdout so far. */
  output(): string;
}

/**
 * Starts the service with extra env vars and waits until `/healthz` answers, or (`ready:
 * 'running'`, for a worker-only process, which serves no HTTP) until it logs that it is running
 * (at log level info or lower). `viaNpm` runs it exactly as users do, through `npm start`, whose
 * SIGTERM must reach the service.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  { viaNpm = false, args = [] as string[], startupMs = 180_000, ready = 'healthz' as 'healthz' | 'running' } = {},
): Promise<ServiceProcess> {
  const child = viaNpm
    ? spawn('npm', ['start', '--silent', ...(args.length ? ['--', ...args] : [])], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: npm does not pass SIGKILL on, the group takes everything with it.
        detached: true,
      })
    : spawnTs('src/main.ts', args, env);
  let stdout = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  const service = {
    child,
    exit: finished(child),
    http: `http://127.0.0.1:${env.CORDON_HTTP_PORT}`,
    output: () => stdout,
  };
  // An exit ends the wait at once, saying why: the service logs its errors on stdout.
  const exitedEarly = service.exit.then(({ code, stdout: out, stderr }) => {
    throw new Error(`service exited with code ${code} before it was ready:\n${tail(`${out}${stderr}`)}`);
  });
  try {
    await Promise.race([
      vi.waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited'); // reported by exitedEarly
          if (ready === 'running') expect(stdout).toContain('"msg":"cordon is running"');
          else expect((await fetch(`${service.http}/healthz`)).status).toBe(200);
        },
        { timeout: startupMs, interval: 250 },
      ),
      exitedEarly,
    ]);
  } catch (err) {
    // The group may be gone already (the service exited): the error that says why is `err`.
    if (viaNpm) killGroup(child.pid!);
    else child.kill('SIGKILL');
    throw err;
  }
  return service;
}

/** Sends `signal` to the process group `pid` leads; a group already gone is no error. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing of the group is left to signal.
  }
}

export { listening } from '../../src/net';

/** The settings of a service on its own embedded dev server in `dir`: free ports, the prebuilt workflow bundle. */
export async function embeddedServiceEnv(dir: string, logLevel = 'warn'): Promise<Record<string, string>> {
  return {
    CORDON_DATA_DIR: dir,
    CORDON_HTTP_PORT: String(await freePort()),
    CORDON_DEV_SERVER_PORT: String(await freePort()),
    CORDON_UI_PORT: String(await freePort()),
    CORDON_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    CORDON_LOG_LEVEL: logLevel,
  };
}
