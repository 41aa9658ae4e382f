// Numbers for benches and chaos runs: clocks, percentiles, the printed table, the JSON results.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Wall-clock epoch milliseconds: the one clock the driver, workers and PostgreSQL share. */
export const epochNow = () => Date.now();

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p50/p95/p99 of latencies in ms. */
export const latencySummary = (values: number[]) => ({
  count: values.length,
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  p99: percentile(values, 99),
});

/** One printed line: what, Cordon's figure, the baseline's, and the ratio with its target. */
export interface Row {
  bench: string;
  metric: string;
  cordon: number;
  baseline?: number;
  unit: string;
  /** cordon / baseline for costs (latency, time), baseline-relative rate for throughputs. */
  ratio?: number;
  target?: string;
}

const fmt = (n: number | undefined) =>
  n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);

/** Prints rows as an aligned table. */
export function printTable(rows: Row[]): void {
  const cells = [
    ['bench', 'metric', 'cordon', 'baseline', 'unit', 'ratio', 'target'],
    ...rows.map((r) => [
      r.bench,
      r.metric,
      fmt(r.cordon),
      fmt(r.baseline),
      r.unit,
      r.ratio === undefined ? '' : `x${r.ratio.toFixed(2)}`,
      r.target ?? '',
    ]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  for (const line of cells)
    console.log(
      line.map((c, i) => (i >= 2 && i !== 4 && i !== 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '),
    );
}

/** One closing line per row, `bench <name>: cordon <value>, floor <value>, ratio x<N> (target <target>)`. */
export function printSummary(rows: Row[]): void {
  for (const r of rows) {
    const parts = [
      `cordon ${fmt(r.cordon)}${r.unit}`,
      r.baseline === undefined ? undefined : `floor ${fmt(r.baseline)}${r.unit}`,
      r.ratio === undefined ? undefined : `ratio x${r.ratio.toFixed(2)}`,
    ];
    console.log(
      `bench ${r.bench} (${r.metric}): ${parts.filter(Boolean).join(', ')}${r.target ? ` (target ${r.target})` : ''}`,
    );
  }
}

/** The machine a run happened on, for the results file and BENCHMARKS.md. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export const RESULTS_DIR = path.resolve(__dirname, '..', 'results');

/** A results writer for one run: each call rewrites bench/results/<kind>-<start time>.json. */
export function resultsFile(kind: string): { file: string; write(body: object): void } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.join(RESULTS_DIR, `${kind}-${stamp}.json`);
  return { file, write: (body) => writeResults(file, kind, body) };
}

function writeResults(file: string, kind: string, body: object): void {
  writeFileSync(
    file,
    `${JSON.stringify({ kind, command: [`npm run ${kind}`, ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '), machine: machine(), ...body }, null, 2)}\n`,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index], index);
      }
    }),
  );
  return results;
}
