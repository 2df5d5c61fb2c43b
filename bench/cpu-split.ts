import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used by each kind of process on this machine between two readings (Linux
 * /proc): where a phase's CPU went, when the benchmark and the servers share the cores.
 * `named` gives the benchmark's own processes a name by pid; others go by their command name
 * (`temporal`, `postgres`), and kernel threads are summed as `kernel`.
 */
export type CpuReading = ReadonlyMap<string, number>;

export function readCpu(named: Readonly<Record<number, string>> = {}): CpuReading {
  const seconds = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return seconds; // not Linux: nothing to show
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 a second on Linux).
    const used = (Number(fields[11]) + Number(fields[12])) / 100;
    const name =
      named[pid] ?? (/^kworker|^ksoftirq|^jbd2|^kswapd/.test(command) ? 'kernel' : command);
    seconds.set(name, (seconds.get(name) ?? 0) + used);
  }
  return seconds;
}

/** "temporal 3.1 s, postgres 0.8 s, ..." for what each used since `before` (0.1 s and up). */
export function cpuSince(before: CpuReading, named: Readonly<Record<number, string>> = {}): string {
  const after = readCpu(named);
  return [...after]
    .map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const)
    .filter(([, s]) => s >= 0.1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
    .join(', ');
}
