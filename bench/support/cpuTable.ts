// Where the CPU goes while a bench's timed work runs: each component of the system (a process,
// or a process tree), accumulated over every timed stretch of each side, as a share of one core,
// and the server's CPU per unit of work (a containment, an alert). The machine's own count says
// how much went to processes outside the bench (other work on a shared machine).
import os from 'node:os';
import type { Side } from './benchStack';
import { machineBusyMs } from './usage';

/** A part of the system whose CPU time (ms, user + system) can be read at any moment. */
export interface Component {
  name: string;
  cpuMs(): number;
  /** The load generator: it would run elsewhere, so the server's totals leave it out. */
  client?: boolean;
}

/** One line of the table: a component's share of one core on each side, in %. */
export type CpuRow = { component: string } & Partial<Record<Side, number>>;

const SIDES: Side[] = ['cordon', 'floor'];
const MACHINE = 'machine: all processes';
const SERVER = 'server: all but the bench';

interface Spent {
  wallMs: number;
  units: number;
  cpuMs: Map<string, number>;
}

export class CpuTable {
  private readonly spent = new Map<Side, Spent>();
  private readonly order: string[] = [];
  private readonly clients = new Set<string>();

  /** `components` is asked at each stretch: which processes run may change between them. */
  constructor(private readonly components: () => Component[]) {}

  /** Runs `work`, `units` of work done by `side`, adding each component's CPU over it. */
  async during<T>(side: Side, units: number, work: () => Promise<T>): Promise<T> {
    const parts = [...this.components(), { name: MACHINE, cpuMs: machineBusyMs }];
    const before = parts.map((p) => p.cpuMs());
    const start = performance.now();
    try {
      return await work();
    } finally {
      const spent = this.spent.get(side) ?? { wallMs: 0, units: 0, cpuMs: new Map<string, number>() };
      this.spent.set(side, spent);
      spent.wallMs += performance.now() - start;
      spent.units += units;
      parts.forEach((part, i) => {
        if (!this.order.includes(part.name)) this.order.push(part.name);
        if ('client' in part && part.client) this.clients.add(part.name);
        spent.cpuMs.set(part.name, (spent.cpuMs.get(part.name) ?? 0) + readOr(part, before[i]) - before[i]);
      });
    }
  }

  private cpuMs(side: Side, name: string): number | undefined {
    const { cpuMs } = this.spent.get(side) ?? {};
    if (name !== SERVER) return cpuMs?.get(name);
    const server = [...(cpuMs ?? [])].filter(([part]) => part !== MACHINE && !this.clients.has(part));
    return server.reduce((n, [, ms]) => n + ms, 0);
  }

  /** The server's CPU time (ms of one core) per unit of `side`'s work. */
  serverMsPerUnit(side: Side): number | undefined {
    const spent = this.spent.get(side);
    return spent?.units ? this.cpuMs(side, SERVER)! / spent.units : undefined;
  }

  /** Each component's share of one core per side, the server's total, then the machine's (100% per core). */
  rows(): CpuRow[] {
    const share = (side: Side, name: string) => {
      const ms = this.cpuMs(side, name);
      const wall = this.spent.get(side)?.wallMs;
      return ms === undefined || !wall ? undefined : (100 * ms) / wall;
    };
    const row = (name: string): CpuRow =>
      Object.fromEntries([['component', name], ...SIDES.map((side) => [side, share(side, name)])]);
    return [...this.order.filter((name) => name !== MACHINE), SERVER, MACHINE].map(row);
  }

  /** Prints the table under `title`: one line per component, Cordon's stretches beside the floor's. */
  print(title: string, unit: string): void {
    const pct = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(1)}%`);
    const ms = (side: Side) => `${this.serverMsPerUnit(side)?.toFixed(0) ?? ''} ms`;
    const cells = [
      ['component', 'cordon', 'floor'],
      ...this.rows().map((r) => [r.component, pct(r.cordon), pct(r.floor)]),
      [`server CPU per ${unit}`, ms('cordon'), ms('floor')],
    ];
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
