// Starting a local server process and waiting for it to answer: shared by the sandbox
// (`npm start -- --sandbox`) and the connector tests, which run the same servers.
import { spawn, type ChildProcess } from 'node:child_process';

/** A server started on loopback: where it answers, and how to stop it. */
export interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

/** A started process, with the last 8 KB of its output kept for the error when it fails to start. */
export interface Launched {
  child: ChildProcess;
  exited: Promise<void>;
  /** Why it could not run at all (not found, not executable), once known. */
  failure(): Error | undefined;
  output(): string;
  stop(): Promise<void>;
}

/** What a local server needs of Cordon's environment: none of its credentials or settings. */
export function serverEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !/^(CORDON_|AWS_|DATABASE_URL|TEMPORAL_)/.test(name));
  return { ...Object.fromEntries(kept), ...extra };
}

// After SIGTERM, how long a server has to exit before it is killed.
const STOP_GRACE_MS = 10_000;

/**
 * Starts `binary` with `env`; its output is kept, not shown. Values in `secrets` (a dev server's
 * root token) are blanked in that output, which may end up in an error message and a log.
 */
export function launch(
  binary: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  secrets: string[] = [],
  { detached = false } = {},
): Launched {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached });
  // Its own process group (`detached`): a terminal's Ctrl-C does not reach it, so the caller stops it
  // in its own order; should the caller exit first, it takes the process with it.
  if (detached) killAtExit(child);
  let tail = '';
  let failure: Error | undefined;
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-8192));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      failure = err;
      resolve();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null && !failure;
  return {
    child,
    exited,
    failure: () => failure,
    output: () =>
      secrets
        .reduce((text, secret) => text.split(secret).join('[redacted]'), tail)
        .replace(/(Unseal Key|Root Token): \S+/g, '$1: [redacted]'),
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(killed);
    },
  };
}

// One exit hook for every child that must not outlive this process (a listener each would pile up).
const killedAtExit = new Set<ChildProcess>();

/** SIGKILLs `child` if it still runs when this process exits (any exit but this process's own SIGKILL). */
export function killAtExit(child: ChildProcess): void {
  if (!process.listeners('exit').includes(killRemaining)) process.on('exit', killRemaining);
  killedAtExit.add(child);
  child.once('exit', () => killedAtExit.delete(child));
}

function killRemaining(): void {
  for (const child of killedAtExit) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Polls `ready` until it answers true. Fails at once when the process exits or cannot run, and
 * after `timeoutMs` otherwise (stopping it): a loaded 2-core machine needs generous start-up times.
 */
export async function waitUntilReady(
  what: string,
  proc: Launched,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = proc.failure();
    if (failure) throw new Error(`${what} could not start: ${failure.message}`);
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${what} exited early:\n${proc.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${what} not ready within ${timeoutMs / 1000} s:\n${proc.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until `url` answers as `ready` says. */
export async function serve(
  what: string,
  proc: Launched,
  url: string,
  ready: (res: Response) => boolean,
  timeoutMs = 60_000,
): Promise<LocalServer> {
  await waitUntilReady(what, proc, async () => ready(await fetch(url)), timeoutMs);
  return { url: new URL(url).origin, stop: proc.stop };
}
