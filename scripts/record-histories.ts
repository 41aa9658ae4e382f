// `npm run histories:record [-- NAME... | --overwrite]`: plays the scenarios of
// test/histories/scenarios.ts against real Temporal servers and writes their histories to
// test/histories/<file>.json, in the format of `temporal workflow show --output json`.
// Existing files are kept: a golden history records what older workflow code did, and new
// code must still replay it. `--overwrite` replaces goldens no release has frozen yet; a golden a
// release froze (test/histories/<version>.sha256) is never written again: exit 2, nothing recorded.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJson } from '../src/temporal/historyJson';
import { HISTORIES_DIR, KEEP_FROZEN, recordingRefusals } from '../test/histories/frozen';
import { SCENARIOS } from '../test/histories/scenarios';
import { runScenario } from '../test/support/scenarioRunner';
import { bundleWorkflows } from '../worker/bundle';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const overwrite = args.includes('--overwrite');
  const names = args.filter((a) => a !== '--overwrite');
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const chosen = SCENARIOS.filter((s) => !names.length || names.includes(s.name));
  const refusals = recordingRefusals(
    chosen.flatMap((s) => Object.keys(s.record).map((file) => `${file}.json`)),
    overwrite,
  );
  if (refusals.length) {
    for (const refusal of refusals) console.error(`histories:record: ${refusal}`);
    console.error(`histories:record: nothing recorded; ${KEEP_FROZEN}`);
    return 2;
  }
  const bundle = await bundleWorkflows();
  for (const scenario of chosen) {
    const targets = Object.keys(scenario.record).map((file) => path.join(HISTORIES_DIR, `${file}.json`));
    if (!overwrite && targets.every(existsSync)) {
      console.log(`${scenario.name}: kept ${targets.map((t) => path.basename(t)).join(', ')}`);
      continue;
    }
    const histories = await runScenario(scenario, bundle);
    for (const [file, history] of Object.entries(histories)) {
      const target = path.join(HISTORIES_DIR, `${file}.json`);
      if (existsSync(target) && !overwrite) continue;
      writeFileSync(target, `${historyToJson(history)}\n`);
      console.log(`${scenario.name}: wrote ${path.relative(process.cwd(), target)} (${history.events?.length} events)`);
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
