// Installs the pinned Temporal binaries into .tools/ when they are missing.
// `npm start`, `npm test` and .ci/run call this; it is a no-op once installed.
import {
  installProjectBinaries,
  projectBinariesInstalled,
  resolveTemporalCli,
  TOOLS_DIR,
} from '../src/temporal/binaries';

function run(): void {
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
