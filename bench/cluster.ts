// `npm run bench -- --cluster`: throughput and storm on the production-shaped cluster, with one
// Cordon worker and then two, each round against the bare floor measured on the same cluster in
// that round, and a table per round of where the CPU went (BENCHMARKS.md "On a Temporal cluster").
import { createLogger } from '../src/log';
import { stormBench } from './storm';
import { throughputBench } from './throughput';
import { ClusterStack } from './support/clusterStack';
import type { CpuRow } from './support/cpuTable';
import type { BenchName, Sizes } from './support/options';
import type { Row } from './support/stats';

const WORKER_COUNTS = [1, 2];

/** One round's result: its rows, and each component's CPU over Cordon's and the floor's timed work. */
export interface ClusterRound {
  round: string;
  rows: Row[];
  cpu: CpuRow[];
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(0)} s`;

/** Runs the selected benches round by round; `done` gets each round as it finishes. */
export async function clusterBenches(
  selected: Set<BenchName>,
  sizes: Sizes,
  done: (round: ClusterRound) => void,
): Promise<void> {
  let since = performance.now();
  console.log('cluster: starting PostgreSQL, the Temporal services, 2 Cordon workers and 2 intakes');
  const stack = await ClusterStack.start(createLogger('warn'));
  console.log(`cluster: up in ${seconds(since)}`);
  try {
    for (const name of ['throughput', 'storm'] as const) {
      if (!selected.has(name)) continue;
      for (const workers of WORKER_COUNTS) {
        const round = `${name}[cluster, ${workers} worker${workers > 1 ? 's' : ''}]`;
        since = performance.now();
        const cpu = stack.round(workers);
        const prefix = `${name}-${workers}w`;
        const { rows } =
          name === 'throughput'
            ? await throughputBench(stack, sizes.throughput, prefix)
            : await stormBench(stack, sizes.storm, { prefix });
        cpu.print(round);
        console.log(`${round}: ${seconds(since)}, Cordon processes restarted as needed included`);
        done({ round, rows: rows.map((row) => ({ ...row, bench: round })), cpu: cpu.rows() });
      }
    }
  } finally {
    await stack.close();
  }
}
