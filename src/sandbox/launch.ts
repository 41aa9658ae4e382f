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
  output(): string;
  stop(): Promise<void>;
}

/** Starts `binary`; its output is kept, not shown. */
export function launch(binary: string, args: string[], env: NodeJS.ProcessEnv = process.env): Launched {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-8192));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    output: () => tail,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Polls `ready` until it answers true. Fails at once when the process exits, and after
 * `timeoutMs` otherwise (stopping it): a loaded 2-core machine needs generous start-up times.
 */
export async function waitUntilReady(
  what: string,
  proc: Launched,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited early:\n${proc.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${what} not ready within ${timeoutMs / 1000} s:\n${proc.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts `binary` and waits until `url` answers as `ready` says. */
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
