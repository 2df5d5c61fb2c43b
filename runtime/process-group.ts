import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

/** A child running as the leader of its own process group, so it can be stopped as a whole. */
export type GroupedChild = {
  child: ChildProcess;
  pid: number;
  /** Settles when the group leader exits. */
  exited: Promise<ExitInfo>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<ExitInfo>;
};

/**
 * Spawns `command` detached (its own process group, so a Ctrl-C meant for us does not reach
 * it before we shut down in order) and registers it with the orphan guard below.
 * POSIX only: process groups are addressed with a negative pid.
 */
export async function spawnGroup(
  command: string,
  args: readonly string[],
  stdio: StdioOptions,
): Promise<GroupedChild> {
  const child = spawn(command, args, { detached: true, stdio });
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.on('error', reject); // stays attached: later errors must not crash us
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${command} started without a pid`);
  guard(pid);
  void exited.then(() => unguard(pid));

  let stopping: Promise<ExitInfo> | undefined;
  const stop = (graceMs = 5_000): Promise<ExitInfo> => {
    stopping ??= (async () => {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        unguard(pid);
      }
    })();
    return stopping;
  };
  return { child, pid, exited, stop };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

// Orphan guard: children we spawned must not outlive us. On 'exit' (normal end, process.exit,
// uncaught exception) we SIGKILL every live group synchronously. Fatal signals do not emit
// 'exit', so while children are alive we also listen for SIGINT/SIGTERM/SIGHUP; if nobody
// else handles the signal we kill the groups and re-raise it, keeping Node's default
// behaviour. If the application has its own handler, it owns shutdown (it should call
// stop(), or exit, which triggers the 'exit' hook).
// Limitation: nothing runs when we are SIGKILLed (or the machine loses power), and the
// Temporal CLI has no --parent-pid style flag. A server orphaned that way dies on its next
// write to the stderr pipe we held (SIGPIPE); otherwise the next start reports its port as in
// use (PortInUseError) so it can be stopped by hand.
const live = new Set<number>();
const fatalSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAllNow(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

function onFatalSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAllNow();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', killAllNow);
  for (const signal of fatalSignals) process.on(signal, onFatalSignal);
}

function uninstall(): void {
  process.off('exit', killAllNow);
  for (const signal of fatalSignals) process.off(signal, onFatalSignal);
}

function guard(pid: number): void {
  if (live.size === 0) install();
  live.add(pid);
}

function unguard(pid: number): void {
  if (!live.delete(pid)) return;
  if (live.size === 0) uninstall();
}
