// `npm run bench -- --cluster`: throughput and storm on the production-shaped cluster, with one
// Cordon worker and then two, each round against the bare floor measured on the same cluster in
// that round, and a table per round of where the CPU went (BENCHMARKS.md "On a Temporal cluster").
import { createLogger } from '../src/log';
import { stormBench } from './storm';
import { throughputBench } from './throughput';
import { ClusterStack } from './support/clusterStack';
import type { CpuRow, CpuTable } from './support/cpuTable';
import type { BenchName, Sizes } from './support/options';
import type { Row } from './support/stats';

const WORKER_COUNTS = [1, 2];
// What one unit of each side's timed work is, for the server's CPU per unit.
const UNITS = {
  throughput: { unit: 'containment', floor: 'bare workflow of 3 no-ops' },
  storm: { unit: 'alert sent', floor: 'bare workflow start' },
};

/** One round's result: its rows, and each component's CPU over Cordon's and the floor's timed work. */
export interface ClusterRound {
  round: string;
  rows: Row[];
  cpu: CpuRow[];
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(0)} s`;

// What the round adds to the bench's rows: the server's CPU per unit of work, and the workflow
// tasks Cordon's workers had to replay (a case's task handled by a worker without it in cache).
function roundRows(round: string, name: keyof typeof UNITS, cpu: CpuTable, stack: ClusterStack): Row[] {
  const { unit, floor } = UNITS[name];
  const [cordonMs, floorMs] = [cpu.serverMsPerUnit('cordon')!, cpu.serverMsPerUnit('floor')!];
  const { hits, misses } = stack.cache;
  return [
    {
      bench: round,
      metric: `server CPU per ${unit} (ms of one core, every cluster process but the bench; floor: per ${floor})`,
      cordon: cordonMs,
      baseline: floorMs,
      unit: 'ms',
      ratio: cordonMs / floorMs,
    },
    {
      bench: round,
      metric: `workflow tasks replayed from history in Cordon's timed work (worker cache misses; hits: ${hits})`,
      cordon: misses,
      unit: '',
    },
  ];
}

async function runRound(stack: ClusterStack, name: keyof typeof UNITS, workers: number, sizes: Sizes) {
  const round = `${name}[cluster, ${workers} worker${workers > 1 ? 's' : ''}]`;
  const since = performance.now();
  const cpu = stack.round(workers);
  const prefix = `${name}-${workers}w`;
  const { rows } =
    name === 'throughput'
      ? await throughputBench(stack, sizes.throughput, prefix)
      : await stormBench(stack, sizes.storm, { prefix });
  cpu.print(round, UNITS[name].unit);
  console.log(`${round}: ${seconds(since)}, Cordon processes restarted as needed included`);
  const all = [...rows.map((row) => ({ ...row, bench: round })), ...roundRows(round, name, cpu, stack)];
  return { round, rows: all, cpu: cpu.rows() };
}

/** Runs the selected benches round by round; `done` gets each round as it finishes. */
export async function clusterBenches(
  selected: Set<BenchName>,
  sizes: Sizes,
  done: (round: ClusterRound) => void,
): Promise<void> {
  const since = performance.now();
  console.log('cluster: starting PostgreSQL, the Temporal services, 2 Cordon workers and 2 intakes');
  const stack = await ClusterStack.start(createLogger('warn'));
  console.log(`cluster: up in ${seconds(since)}`);
  try {
    for (const name of ['throughput', 'storm'] as const)
      if (selected.has(name)) for (const workers of WORKER_COUNTS) done(await runRound(stack, name, workers, sizes));
  } finally {
    await stack.close();
  }
}
