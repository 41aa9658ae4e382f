// Where the CPU goes while a bench's timed work runs: each component of the server (a process,
// or a process tree), accumulated over every timed stretch of each side, as a share of one core.
// The machine's own count says how much went to processes outside the bench (other work on a
// shared machine), which the components' figures do not show.
import os from 'node:os';
import type { Side } from './benchStack';
import { machineBusyMs } from './usage';

const MACHINE = 'machine: all processes';

/** A part of the system whose CPU time (ms, user + system) can be read at any moment. */
export interface Component {
  name: string;
  cpuMs(): number;
}

/** One line of the table: a component's share of one core on each side, in %. */
export type CpuRow = { component: string } & Partial<Record<Side, number>>;

const SIDES: Side[] = ['cordon', 'floor'];

export class CpuTable {
  private readonly spentMs = new Map<Side, Map<string, number>>();
  private readonly wallMs = new Map<Side, number>();
  private readonly order: string[] = [];

  /** `components` is asked at each stretch: which processes run may change between them. */
  constructor(private readonly components: () => Component[]) {}

  /** Runs `work`, adding each component's CPU over it to `side`. */
  async during<T>(side: Side, work: () => Promise<T>): Promise<T> {
    const parts = [...this.components(), { name: MACHINE, cpuMs: machineBusyMs }];
    const before = parts.map((p) => p.cpuMs());
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.wallMs.set(side, (this.wallMs.get(side) ?? 0) + performance.now() - start);
      const spent = this.spentMs.get(side) ?? new Map<string, number>();
      this.spentMs.set(side, spent);
      parts.forEach((part, i) => {
        if (!this.order.includes(part.name)) this.order.push(part.name);
        spent.set(part.name, (spent.get(part.name) ?? 0) + readOr(part, before[i]) - before[i]);
      });
    }
  }

  /** Each component's share of one core per side, their total, then the machine's (100% per core). */
  rows(): CpuRow[] {
    const share = (side: Side, name?: string) => {
      const spent = this.spentMs.get(side);
      const wall = this.wallMs.get(side);
      if (!spent || !wall) return undefined;
      const ours = [...spent].filter(([part]) => part !== MACHINE).reduce((n, [, ms]) => n + ms, 0);
      const ms = name === undefined ? ours : spent.get(name);
      return ms === undefined ? undefined : (100 * ms) / wall;
    };
    const row = (component: string, name?: string): CpuRow =>
      Object.fromEntries([['component', component], ...SIDES.map((side) => [side, share(side, name)])]);
    const parts = this.order.filter((name) => name !== MACHINE);
    return [...parts.map((name) => row(name, name)), row('total of the above'), row(MACHINE, MACHINE)];
  }

  /** Prints the table under `title`: one line per component, Cordon's stretches beside the floor's. */
  print(title: string): void {
    const rows = this.rows();
    const pct = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(1)}%`);
    const cells = [['component', 'cordon', 'floor'], ...rows.map((r) => [r.component, pct(r.cordon), pct(r.floor)])];
    const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
    const cores = os.cpus().length;
    console.log(`\n${title}: CPU, share of one core over the timed stretches (${cores} cores: ${cores * 100}% in all)`);
    for (const line of cells)
      console.log(line.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
  }
}

// A process that exited during the stretch: its last reading is lost, so it counts nothing.
function readOr(part: Component, fallback: number): number {
  try {
    return part.cpuMs();
  } catch {
    return fallback;
  }
}
