// The options of `npm run bench`: bench names, --quick, --<bench>=N for one size, and --cluster,
// which runs throughput and storm on the production-shaped cluster instead of the dev server.
// Anything else is a usage error (exit 2), found before anything starts.

export const NAMES = ['latency', 'throughput', 'replay', 'storm', 'waiting', 'cli'] as const;
export type BenchName = (typeof NAMES)[number];
/** The benches `--cluster` runs: what one or two workers change, against the floor on the same cluster. */
export const CLUSTER_NAMES = ['throughput', 'storm'] as const satisfies BenchName[];

const FULL = { latency: 500, latencyRate: 1.5, throughput: 300, storm: 10_000, waiting: 2_000, cli: 21 };
const QUICK = { latency: 30, latencyRate: 1, throughput: 40, storm: 1_000, waiting: 100, cli: 5 };
// On the cluster each bench runs twice (one worker, then two), each with its floor, and a dozen
// server processes share the cores with Cordon: about 7 minutes on 2 otherwise idle cores, 12 to
// 16 with other work on them (--quick: 5).
const CLUSTER_FULL = { throughput: 60, storm: 2_000 };
const CLUSTER_QUICK = { throughput: 10, storm: 200 };

export type Sizes = typeof FULL;

export interface BenchOptions {
  selected: Set<BenchName>;
  sizes: Sizes;
  cluster: boolean;
}

export class UsageError extends Error {}

const FLAGS = ['--quick', '--cluster'];

function sizesFrom(args: string[], quick: boolean, cluster: boolean): Sizes {
  const sizes: Sizes = { ...(quick ? QUICK : FULL), ...(cluster && (quick ? CLUSTER_QUICK : CLUSTER_FULL)) };
  const settable: string[] = cluster ? [...CLUSTER_NAMES] : Object.keys(sizes);
  for (const arg of args.filter((a) => a.includes('='))) {
    const [, name, value] = /^--(\w+)=(.*)$/.exec(arg) ?? [];
    if (!settable.includes(name) || !(Number(value) > 0))
      throw new UsageError(`${arg}: expected --<${settable.join('|')}>=<positive number>`);
    sizes[name as keyof Sizes] = Number(value);
  }
  return sizes;
}

/** The run `args` ask for; a UsageError names what is wrong. */
export function parseBenchOptions(args: string[]): BenchOptions {
  const flags = args.filter((a) => a.startsWith('--') && !a.includes('='));
  const unknownFlag = flags.find((f) => !FLAGS.includes(f));
  if (unknownFlag) throw new UsageError(`unknown option ${unknownFlag} (${FLAGS.join(', ')}, --<bench>=N)`);
  const cluster = flags.includes('--cluster');
  const sizes = sizesFrom(args, flags.includes('--quick'), cluster);
  const picked = args.filter((a) => !a.startsWith('--'));
  const unknown = picked.filter((a) => !NAMES.includes(a as BenchName));
  if (unknown.length) throw new UsageError(`unknown bench ${unknown.join(', ')} (choose from ${NAMES.join(', ')})`);
  const offCluster = picked.filter((a) => !(CLUSTER_NAMES as readonly string[]).includes(a));
  if (cluster && offCluster.length)
    throw new UsageError(`--cluster runs ${CLUSTER_NAMES.join(' and ')} only, not ${offCluster.join(', ')}`);
  const all: readonly BenchName[] = cluster ? CLUSTER_NAMES : NAMES;
  return { selected: new Set(picked.length ? (picked as BenchName[]) : all), sizes, cluster };
}
