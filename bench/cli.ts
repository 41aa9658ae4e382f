// CLI start-up: wall time of `node bin/cordon.js --help` and of `cordon plan` on a bundled
// example (no Temporal), against `node -e 0`, the floor any Node command pays. The three run in
// turn, so a change in the machine's load reaches all of them alike; medians of `runs` each.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { percentile, type Row } from './support/stats';

const ROOT = path.resolve(__dirname, '..');
const CORDON = path.join(ROOT, 'bin', 'cordon.js');
const { compiledIsCurrent } = require(CORDON) as { compiledIsCurrent(): boolean };

const COMMANDS = {
  floor: ['-e', '0'],
  help: [CORDON, '--help'],
  plan: [CORDON, 'plan', path.join(ROOT, 'examples', 'alerts', 'secret-leak.json')],
};

// Milliseconds from spawn to exit; a command that fails would measure nothing worth printing.
function timed(args: string[]): number {
  const start = performance.now();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return ms;
}

export function cliBench(runs: number): Row[] {
  // What a user runs after `npm run build`; from stale sources it would measure tsx instead.
  if (!compiledIsCurrent()) throw new Error('bench cli measures the compiled CLI: run `npm run build` first');
  const times = { floor: [] as number[], help: [] as number[], plan: [] as number[] };
  for (let i = 0; i < runs; i++)
    for (const name of ['floor', 'help', 'plan'] as const) times[name].push(timed(COMMANDS[name]));
  const floor = percentile(times.floor, 50);
  const row = (name: 'help' | 'plan', metric: string): Row => {
    const median = percentile(times[name], 50);
    return {
      bench: 'cli',
      metric,
      cordon: median,
      baseline: floor,
      unit: ' ms',
      ratio: median / floor,
      target: '< 1 s',
    };
  };
  return [
    row('help', `cordon --help, median of ${runs}, floor node -e 0`),
    row('plan', `cordon plan examples/alerts/secret-leak.json, median of ${runs}, floor node -e 0`),
  ];
}
