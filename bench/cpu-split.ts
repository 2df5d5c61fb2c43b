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

/**
 * Times one phase of `count` operations: returns its rate per second, and adds the CPU each
 * process used meanwhile to `into` (seconds), so rounds of a phase sum up.
 */
export async function timedPhase(
  into: Map<string, number>,
  count: number,
  work: () => Promise<void>,
  named: Readonly<Record<number, string>> = {},
): Promise<number> {
  const before = readCpu(named);
  const start = performance.now();
  await work();
  const rate = count / ((performance.now() - start) / 1000);
  addCpuSince(into, before, named);
  return rate;
}

/** Adds the CPU each process used since `before` to `into` (seconds), summing over calls. */
export function addCpuSince(
  into: Map<string, number>,
  before: CpuReading,
  named: Readonly<Record<number, string>> = {},
): void {
  for (const [name, seconds] of readCpu(named))
    into.set(name, (into.get(name) ?? 0) + seconds - (before.get(name) ?? 0));
}

/** "temporal 3.1 s, postgres 0.8 s, ..." per round: the totals over `rounds` (0.1 s and up). */
export function formatCpu(seconds: ReadonlyMap<string, number>, rounds = 1): string {
  return [...seconds]
    .map(([name, s]) => [name, s / rounds] as const)
    .filter(([, s]) => s >= 0.1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(2)} s`)
    .join(', ');
}
