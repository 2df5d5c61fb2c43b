import { spawn, type ChildProcess } from 'node:child_process';
import { eventually } from './engine.js';

/**
 * Runs `drumbeat <command>` as its own process, as a user or a deployment would, and resolves
 * once it prints that it is running. `env` is the child's whole environment (so a test can leave
 * variables out). Every child is pushed to `children` so the test can kill
 * what is left; an early exit fails with the process's output.
 */
export async function startDrumbeat(
  command: 'start' | 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/drumbeat.js', command], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`drumbeat ${command} exited early:\n${output}`);
      return output.includes('Drumbeat is running');
    },
    90_000,
    `drumbeat ${command} to be running`,
  );
  return child;
}

/**
 * Stops what a test left running of its `drumbeat` children as Ctrl-C does (SIGINT), so each
 * stops the dev server it started; one still running after `graceMs` is killed. A SIGKILLed
 * `drumbeat start` cannot stop its dev server, which then outlives the test run.
 */
export async function stopDrumbeats(children: readonly ChildProcess[], graceMs = 20_000) {
  await Promise.all(
    children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map(async (child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
  );
}
