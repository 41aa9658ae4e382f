// The benches' child processes: TypeScript entry points under tsx with their output in a log
// file, stopped by signal with a grace period, and the bare baseline worker built on them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { ServerAccess } from './access';
import { processUsage } from './usage';

const ROOT = path.resolve(__dirname, '..', '..');

/** A child process we started, with its exit observed. */
export interface Child {
  process: ChildProcess;
  exited: Promise<number | null>;
}

/** The bench's environment without settings of its own: a webhook, cloud credentials or fault settings in the operator's shell must not reach a bench. */
export const inheritedEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CORDON_|TEMPORAL_|DATABASE_URL$|AWS_)/.test(k)));

export function spawnTs(
  entry: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
  ipc = false,
): Child {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return { process: child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

const STOP_GRACE_MS = 20_000;

/** A process that does not drain within the grace period is killed: teardown never hangs. */
export async function stopChild(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_GRACE_MS);
  await child.exited;
  clearTimeout(timer);
}

/** The bare baseline worker: its process, and when its no-ops ran. */
export interface BareWorker {
  pid: number;
  usage(): ReturnType<typeof processUsage>;
  /** When each workflow's no-ops ran, in order (epoch ms), by workflow id. */
  runs(): Promise<Record<string, number[]>>;
  stop(): Promise<void>;
}

/**
 * Starts `bench/bareWorker.ts` on `taskQueue`, connected as `access` says (the same settings a
 * Cordon process reads), and waits until it polls. `started` is handed the child at once, so a
 * failed start is still stopped at teardown.
 */
export async function startBareWorker(
  access: ServerAccess,
  taskQueue: string,
  logFile: string,
  started: (child: Child) => void,
): Promise<BareWorker> {
  const child = spawnTs('bench/bareWorker.ts', [taskQueue], access, logFile, true);
  started(child);
  await new Promise<void>((resolve, reject) => {
    child.process.once('message', () => resolve());
    void child.exited.then((code) => reject(new Error(`bare worker exited with ${code}; see ${logFile}`)));
  });
  const pid = child.process.pid!;
  return {
    pid,
    usage: () => processUsage(pid),
    runs: () =>
      new Promise<Record<string, number[]>>((resolve) => {
        child.process.once('message', (m) => resolve((m as { runs: Record<string, number[]> }).runs));
        child.process.send('report');
      }),
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
