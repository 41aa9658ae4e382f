// CPU and memory of processes, from /proc: one process, a set of them, or a process tree whose
// children come and go (PostgreSQL's backends).
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // /proc/<pid>/stat counts CPU in clock ticks of 10 ms

/** The fields of /proc/<pid>/stat a bench reads: parent, own CPU, and CPU of reaped children. */
function procStat(pid: number): { ppid: number; cpuMs: number; reapedChildrenCpuMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name, which may hold spaces: state, ppid, ... utime (14), stime, cutime, cstime.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(fields[1]),
    cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    reapedChildrenCpuMs: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
  };
}

/** The parent of a live process. */
export const parentPid = (pid: number) => procStat(pid).ppid;

/** CPU time (ms, user + system) and resident memory of a live process. */
export function processUsage(pid: number): { cpuMs: number; rssBytes: number } {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: procStat(pid).cpuMs, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

/**
 * CPU time (ms) of `pid` and every child it has had: the live ones' own time, plus what the
 * exited ones used, which the kernel adds to the parent's cutime/cstime as it reaps them. A
 * backend that exits between two readings moves from one sum to the other, so deltas hold.
 */
export function treeCpuMs(pid: number): number {
  const parent = procStat(pid);
  let total = parent.cpuMs + parent.reapedChildrenCpuMs;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const child = procStat(Number(entry));
      if (child.ppid === pid) total += child.cpuMs;
    } catch {
      // exited while the list was read: its time is in the parent's reaped share by now
    }
  }
  return total;
}

/** Samples processes over a stretch of work: their CPU share of one core and peak RSS, summed. */
export function watchUsage(...pids: number[]) {
  const sample = () => {
    const usages = pids.map(processUsage);
    return {
      cpuMs: usages.reduce((n, u) => n + u.cpuMs, 0),
      rssBytes: usages.reduce((n, u) => n + u.rssBytes, 0),
    };
  };
  const start = { at: performance.now(), ...sample() };
  let peakRss = start.rssBytes;
  const timer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, sample().rssBytes);
    } catch {
      // a process exited; the last sample stands
    }
  }, 200);
  return () => {
    clearInterval(timer);
    const end = sample();
    return {
      cpuPercent: (100 * (end.cpuMs - start.cpuMs)) / (performance.now() - start.at),
      peakRssMiB: Math.max(peakRss, end.rssBytes) / 2 ** 20,
      rssMiB: end.rssBytes / 2 ** 20,
    };
  };
}

/** CPU time (ms) every core of the machine has spent busy since boot: user, nice, system, irq, softirq. */
export function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq) * TICK_MS;
}
