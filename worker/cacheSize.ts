// How many cases the worker keeps in memory, from the memory it may use: a parked case stays
// resident until evicted, so without a bound memory grows with the number of open cases.
import { readFileSync } from 'node:fs';

// Measured by `npm run bench -- waiting` (BENCHMARKS.md): the service with a handful of cases,
// and what each cached case adds, rounded up.
export const BASE_MEMORY_MIB = 320;
export const MIB_PER_CACHED_CASE = 0.45;
// Without a configured or cgroup limit: room for about 1,500 resident cases.
export const DEFAULT_MEMORY_MIB = 1024;
// Below this the cache thrashes: every wake-up is a replay.
const MIN_CACHED_CASES = 50;

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

/** Cases that fit in `memoryMiB` beside the service's own footprint. */
export const casesThatFit = (memoryMiB: number) =>
  Math.max(MIN_CACHED_CASES, Math.floor((memoryMiB - BASE_MEMORY_MIB) / MIB_PER_CACHED_CASE));

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
