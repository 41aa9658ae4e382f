// `npm run bench` options: --cluster picks the cluster's benches and sizes, and a combination it
// cannot run is refused with exit 2 before anything starts. The cluster run itself is
// `npm run bench -- --cluster` (BENCHMARKS.md), too long for a test.
import { describe, expect, it } from 'vitest';
import { NAMES, parseBenchOptions, UsageError } from '../bench/support/options';
import { runTs } from './support/processes';

describe('bench options', () => {
  it('--cluster runs throughput and storm, at sizes of its own', () => {
    const full = parseBenchOptions(['--cluster']);
    expect(full.cluster).toBe(true);
    expect([...full.selected]).toEqual(['throughput', 'storm']);
    const quick = parseBenchOptions(['--cluster', '--quick', 'storm', '--storm=50']);
    expect([...quick.selected]).toEqual(['storm']);
    expect(quick.sizes.storm).toBe(50);
    expect(quick.sizes.throughput).toBeLessThan(full.sizes.throughput);
    expect(full.sizes.throughput).toBeLessThan(parseBenchOptions([]).sizes.throughput);
  });

  it('without --cluster, runs every bench on the dev server as before', () => {
    const options = parseBenchOptions(['--quick', '--waiting=500']);
    expect(options.cluster).toBe(false);
    expect([...options.selected]).toEqual([...NAMES]);
    expect(options.sizes.waiting).toBe(500);
  });

  it.each([
    [['--cluster', 'latency'], '--cluster runs throughput and storm only, not latency'],
    [['--cluster', 'throughput', 'replay', 'waiting'], 'not replay, waiting'],
    [['--cluster', 'cli'], 'not cli'],
    [['--cluster', '--waiting=100'], '--waiting=100: expected --<throughput|storm>=<positive number>'],
    [['--cluster', '--storm=0'], '--storm=0: expected'],
    [['--clusters'], 'unknown option --clusters'],
    [['cluster'], 'unknown bench cluster'],
  ])('refuses %j', (args, message) => {
    expect(() => parseBenchOptions(args)).toThrow(UsageError);
    expect(() => parseBenchOptions(args)).toThrow(message);
  });

  it('exits 2 naming a bad combination, before starting anything', async () => {
    const run = await runTs('bench/main.ts', ['--cluster', 'waiting'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bench: --cluster runs throughput and storm only, not waiting');
    expect(run.stdout).toBe('');
  }, 60_000);
});
