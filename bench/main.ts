// `npm run bench [-- NAME…] [--quick]`: Cordon against bare Temporal on the same dev server, the
// baselines measured in the same run. Prints a table; writes bench/results/bench-<time>.json.
import { cliBench } from './cli';
import { latencyBench } from './latency';
import { replayBench } from './replay';
import { stormBench } from './storm';
import { waitingBench } from './waiting';
import { throughputBench } from './throughput';
import { printSummary, printTable, resultsFile, type Row } from './support/stats';
import { Stack } from './support/stack';
import { createLogger } from '../src/log';
import { installRuntime } from '../worker/runtime';

const FULL = { latency: 500, latencyRate: 1.5, throughput: 300, storm: 10_000, waiting: 2_000, cli: 21 };
const QUICK = { latency: 30, latencyRate: 1, throughput: 40, storm: 1_000, waiting: 100, cli: 5 };
const NAMES = ['latency', 'throughput', 'replay', 'storm', 'waiting', 'cli'] as const;
type Name = (typeof NAMES)[number];

async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const sizes: Record<keyof typeof FULL, number> = { ...(args.includes('--quick') ? QUICK : FULL) };
  // --<bench>=N overrides one size, e.g. --waiting=500.
  for (const arg of args.filter((a) => a.includes('='))) {
    const [, name, value] = /^--(\w+)=(.*)$/.exec(arg) ?? [];
    if (!(name in sizes) || !(Number(value) > 0)) {
      console.error(`bench: ${arg}: expected --<${Object.keys(sizes).join('|')}>=<positive number>`);
      process.exit(2);
    }
    sizes[name as keyof typeof FULL] = Number(value);
  }
  const picked = args.filter((a) => !a.startsWith('--'));
  const unknown = picked.filter((a) => !NAMES.includes(a as Name));
  if (unknown.length) {
    console.error(`bench: unknown bench ${unknown.join(', ')} (choose from ${NAMES.join(', ')})`);
    process.exit(2);
  }
  const selected = new Set<Name>(picked.length ? (picked as Name[]) : NAMES);
  const rows: Row[] = [];
  const started = new Date().toISOString();
  const results = resultsFile('bench');
  // Rows print and land in the results file as each bench finishes: a late failure loses nothing.
  const add = (more: Row[]) => {
    rows.push(...more);
    printTable(more);
    results.write({ started, sizes, rows });
  };

  // Each bench gets a fresh stack, so one's leftovers never slow the next.
  async function onStack<T>(name: string, fn: (stack: Stack) => Promise<T>): Promise<T> {
    // Once, before the first connection; the replayer's worker logs every state change at info. Not
    // for `cli` alone: a runtime that never had a connection would keep the process from exiting.
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
  console.log('\nall benches');
  printTable(rows);
  console.log(`results: ${results.file}`);
  printSummary(rows);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
