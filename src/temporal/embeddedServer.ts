import { spawn, type ChildProcess } from 'node:child_process';
import { killAtExit } from '../sandbox/launch';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Config } from '../config';
import type { Logger } from '../log';
import { MISSING_BINARIES_HELP, resolveTemporalCli } from './binaries';
import { SEARCH_ATTRIBUTES } from './searchAttributes';

/** A running embedded Temporal dev server. */
export interface EmbeddedServer {
  address: string;
  /** The dev server's process, when Cordon started it itself. */
  pid?: number;
  stop(): Promise<void>;
}

// A fresh dev server on a loaded small machine can take well over 30 s to serve; an idle one takes
// a second or two, so the longer wait costs nothing there.
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

/** The `temporal server start-dev` arguments for a config: persisted SQLite, UI, attributes. */
export function devServerArgs(config: Config, codecEndpoint?: string): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.CORDON_DEV_SERVER_PORT),
    '--ui-port',
    String(config.CORDON_UI_PORT),
    '--db-filename',
    path.join(config.CORDON_DATA_DIR, 'temporal.sqlite'),
    '--namespace',
    config.TEMPORAL_NAMESPACE,
    '--log-format',
    'json',
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    // The Web UI decodes encrypted payloads in the browser through the intake, on loopback.
    ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : []),
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type}`]),
  ];
}

/**
 * Starts `temporal server start-dev` with its state in the data directory and waits until it
 * accepts connections. Falls back to the SDK's own download when no binary is installed.
 */
export async function startEmbeddedServer(
  config: Config,
  logger: Logger,
  codecEndpoint?: string,
): Promise<EmbeddedServer> {
  mkdirSync(config.CORDON_DATA_DIR, { recursive: true });
  const address = `127.0.0.1:${config.CORDON_DEV_SERVER_PORT}`;
  const cli = resolveTemporalCli();
  logger.info({ source: cli.source, path: cli.path, address }, 'starting embedded Temporal dev server');
  if (!cli.path) return startDownloadedServer(config, address, logger);

  // Its own process group: a terminal's Ctrl-C reaches only Cordon, which stops it once the worker
  // has drained. If Cordon dies first, the data dir's lock names it for the next start to stop.
  const child = spawn(cli.path, devServerArgs(config, codecEndpoint), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  killAtExit(child);
  const output = forwardOutput(child, logger);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const failedToStart = exited.then((code) => {
    throw new Error(`temporal server start-dev exited with code ${code} before accepting connections`);
  });
  await Promise.race([waitUntilReachable(address), failedToStart]).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  failedToStart.catch(() => undefined);
  logger.info({ address, ui: `http://127.0.0.1:${config.CORDON_UI_PORT}` }, 'Temporal dev server ready');

  return {
    address,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      output.quiet();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      const code = await exited;
      clearTimeout(timer);
      logger.info({ code }, 'Temporal dev server stopped');
    },
  };
}

async function startDownloadedServer(config: Config, address: string, logger: Logger) {
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip: '127.0.0.1',
        port: config.CORDON_DEV_SERVER_PORT,
        ui: true,
        uiPort: config.CORDON_UI_PORT,
        dbFilename: path.join(config.CORDON_DATA_DIR, 'temporal.sqlite'),
        namespace: config.TEMPORAL_NAMESPACE,
        searchAttributes: [...SEARCH_ATTRIBUTES],
      },
    });
    return { address, stop: () => env.teardown() };
  } catch (err) {
    logger.debug({ err }, 'SDK download of the Temporal CLI failed');
    throw new Error(MISSING_BINARIES_HELP);
  }
}

// stdout is the start banner; stderr carries the server's warnings and errors, until we stop
// it, when its shutdown chatter is only debug.
function forwardOutput(child: ChildProcess, logger: Logger): { quiet(): void } {
  const serverLog = logger.child({ component: 'temporal-dev-server' });
  let stderrLevel: 'warn' | 'debug' = 'warn';
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => serverLog.debug({ line }));
  if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => serverLog[stderrLevel]({ line }));
  return { quiet: () => void (stderrLevel = 'debug') };
}

async function waitUntilReachable(address: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} not reachable: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
