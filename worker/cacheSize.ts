// How many cases the worker keeps in memory, from the memory it may use: a parked case stays
// resident until evicted, so without a bound memory grows with the number of open cases. The
// workflow thread's heap is capped too: V8 otherwise lets garbage from evictions and replays
// grow towards its default limit (a quarter of the host's memory) before collecting it.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

// Measured by `npm run bench -- waiting` (BENCHMARKS.md): what the service holds beside the
// workflow heap (about 365 MiB with 2,000 parked cases), and what each cached case adds,
// both rounded up.
export const BASE_MEMORY_MIB = 400;
export const MIB_PER_CACHED_CASE = 0.45;
// Without a configured or cgroup limit: about 1,000 resident cases.
export const DEFAULT_MEMORY_MIB = 1024;
// Below this the cache thrashes: every wake-up is a replay.
const MIN_CACHED_CASES = 50;
// Cached cases fill at most this share of the workflow heap; the rest is room to collect in.
const CACHE_SHARE_OF_HEAP = 0.75;

/** The container's memory limit in MiB (cgroup v2, then v1), when one is set. */
export function cgroupMemoryLimitMiB(read = (file: string) => readFileSync(file, 'utf8')): number | undefined {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const bytes = Number(read(file).trim());
      // v1 reports "no limit" as a huge number; v2 as "max" (NaN here).
      if (Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60) return Math.floor(bytes / 2 ** 20);
    } catch {
      // not this cgroup version
    }
  }
  return undefined;
}

/** The cache size and where it came from, for the start-up log line. */
export interface CacheSize {
  maxCachedWorkflows: number;
  memoryMiB?: number;
  from: 'CORDON_MAX_CACHED_WORKFLOWS' | 'CORDON_WORKER_MEMORY_MIB' | 'cgroup memory limit' | 'default memory budget';
}

/** The workflow threads' heap: what the budget leaves beside the service's own footprint. */
export const workflowHeapMiB = (memoryMiB: number) => Math.max(128, memoryMiB - BASE_MEMORY_MIB);

/** Cases that fit in `memoryMiB`: their share of the workflow heap. */
export const casesThatFit = (memoryMiB: number) =>
  Math.max(MIN_CACHED_CASES, Math.floor((workflowHeapMiB(memoryMiB) * CACHE_SHARE_OF_HEAP) / MIB_PER_CACHED_CASE));

/**
 * Caps the heap of the workflow threads the worker is about to start (they read V8's flags
 * when created; this thread's own heap is fixed already).
 */
export function capWorkflowHeap(memoryMiB: number): void {
  v8.setFlagsFromString(`--max-old-space-size=${workflowHeapMiB(memoryMiB)}`);
}

/** An explicit cache size wins; otherwise the cache is sized from the memory budget. */
export function workflowCacheSize(
  settings: { CORDON_MAX_CACHED_WORKFLOWS?: number; CORDON_WORKER_MEMORY_MIB?: number },
  cgroupLimit = cgroupMemoryLimitMiB(),
): CacheSize {
  if (settings.CORDON_MAX_CACHED_WORKFLOWS !== undefined)
    return { maxCachedWorkflows: settings.CORDON_MAX_CACHED_WORKFLOWS, from: 'CORDON_MAX_CACHED_WORKFLOWS' };
  const [memoryMiB, from]: [number, CacheSize['from']] = settings.CORDON_WORKER_MEMORY_MIB
    ? [settings.CORDON_WORKER_MEMORY_MIB, 'CORDON_WORKER_MEMORY_MIB']
    : cgroupLimit
      ? [cgroupLimit, 'cgroup memory limit']
      : [DEFAULT_MEMORY_MIB, 'default memory budget'];
  return { maxCachedWorkflows: casesThatFit(memoryMiB), memoryMiB, from };
}
