// `npm run bench [-- NAME…] [--quick] [--cluster]`: Cordon against bare Temporal on the same dev
// server (with --cluster: on the production-shaped cluster), the baselines measured in the same
// run. Prints a table; writes bench/results/bench-<time>.json.
import { cliBench } from './cli';
import { clusterBenches, type ClusterRound } from './cluster';
import { latencyBench } from './latency';
import { replayBench } from './replay';
import { stormBench } from './storm';
import { waitingBench } from './waiting';
import { throughputBench } from './throughput';
import { parseBenchOptions, UsageError, type BenchOptions } from './support/options';
import { printSummary, printTable, resultsFile, type Row } from './support/stats';
import { Stack } from './support/stack';
import { createLogger } from '../src/log';
import { installRuntime } from '../worker/runtime';

function optionsOrExit(): BenchOptions {
  try {
    return parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}`);
    process.exit(2);
  }
}

// Each bench gets a fresh stack, so one's leftovers never slow the next.
async function onStack<T>(name: string, fn: (stack: Stack) => Promise<T>): Promise<T> {
  // Once, before the first connection; the replayer's worker logs every state change at info. Not
  // for `cli` alone or the cluster run: a runtime that never had a connection would keep the
  // process from exiting.
  installRuntime(createLogger('warn'));
  const stack = await Stack.start(name);
  try {
    return await fn(stack);
  } catch (err) {
    console.error(`${name} failed:`, err); // before closing, whose aborted calls could hide it
    throw err;
  } finally {
    await stack.close();
  }
}

async function devServerBenches({ selected, sizes }: BenchOptions, add: (rows: Row[]) => void): Promise<void> {
  if (selected.has('latency'))
    add(await onStack('latency', (stack) => latencyBench(stack, sizes.latency, sizes.latencyRate)));
  if (selected.has('throughput') || selected.has('replay')) {
    await onStack('throughput', async (stack) => {
      const result = await throughputBench(stack, sizes.throughput);
      if (selected.has('throughput')) add(result.rows);
      // Cordon's histories are encrypted: its replay decrypts them, as a production replay must.
      const codecs = stack.client.options.loadedDataConverter.payloadCodecs;
      if (selected.has('replay')) add(await replayBench(result.histories, { payloadCodecs: codecs }));
    });
  }
  if (selected.has('storm')) add((await onStack('storm', (stack) => stormBench(stack, sizes.storm))).rows);
  if (selected.has('waiting')) add(await onStack('waiting', (stack) => waitingBench(stack, sizes.waiting)));
  // Needs no stack: the CLI commands it times need no Temporal.
  if (selected.has('cli')) add(cliBench(sizes.cli));
}

async function run(): Promise<void> {
  const options = optionsOrExit();
  const { sizes, cluster } = options;
  const rows: Row[] = [];
  const rounds: Omit<ClusterRound, 'rows'>[] = [];
  const started = new Date().toISOString();
  const results = resultsFile('bench');
  const written = () =>
    cluster ? { sizes: { throughput: sizes.throughput, storm: sizes.storm }, cluster: { rounds } } : { sizes };
  // Rows print and land in the results file as each bench finishes: a late failure loses nothing.
  const add = (more: Row[]) => {
    rows.push(...more);
    printTable(more);
    results.write({ started, ...written(), rows });
  };
  if (cluster)
    await clusterBenches(options.selected, sizes, ({ rows: more, ...round }) => {
      rounds.push(round);
      add(more);
    });
  else await devServerBenches(options, add);
  console.log('\nall benches');
  printTable(rows);
  console.log(`results: ${results.file}`);
  printSummary(rows);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
