import { Connection } from '@temporalio/client';
import { chmod, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findTemporalCli,
  freePort,
  isPortFree,
  PortInUseError,
  startTemporalDevServer,
} from '../../runtime/index.js';
import type { TemporalDevServer } from '../../runtime/index.js';

// Needs the Temporal CLI that `npm install` puts in .tools/ (or TEMPORAL_CLI).
describe('the embedded Temporal dev server', () => {
  const started: TemporalDevServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
  });

  it('finds the CLI that npm install put in .tools/', () => {
    expect(findTemporalCli({ PATH: '' })).toMatch(/\.tools\/bin\/temporal$/);
  });

  it('starts in memory, answers a client, refuses a second server on its port, and stops cleanly', async () => {
    const port = await freePort();
    const server = await startTemporalDevServer({ port, uiPort: null, dbFile: null });
    started.push(server);
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(server.uiUrl).toBeNull();

    await expectAnswers(server);

    const second = startTemporalDevServer({ port, uiPort: null });
    await expect(second).rejects.toBeInstanceOf(PortInUseError);
    await expect(second).rejects.toMatchObject({
      code: 'PORT_IN_USE',
      port,
      message: `Port ${port} is already in use (Temporal dev server). Stop whatever uses it or set TEMPORAL_PORT.`,
    });

    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
    expect(await isPortFree(port)).toBe(true);
    await server.stop(); // a second stop is harmless
  });

  it('keeps a database file in write-ahead-log mode, not a journal synced on every commit', () =>
    inTempDir(async (dir) => {
      const dbFile = join(dir, 'temporal.db');
      const server = await startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile });
      started.push(server);
      await server.stop();
      // SQLite's header: bytes 18 and 19 (write and read format) are 2 in WAL mode, 1 otherwise.
      const file = await open(dbFile);
      const header = Buffer.alloc(20);
      await file.read(header, 0, 20, 0);
      await file.close();
      expect(header.subarray(0, 15).toString()).toBe('SQLite format 3');
      expect([header[18], header[19]]).toEqual([2, 2]);
    }));

  it('starts again when one of its internal ports was taken before it could bind it', () =>
    inTempDir(async (dir) => {
      // The CLI's first start fails as a real one did (its matching service lost its port to
      // another process); the next is the real CLI with the arguments it was given.
      const { cli, starts } = await wrappedCli(dir, [
        `if [ "$(wc -l < "$STARTS")" -eq 1 ]; then`,
        '  echo \'level=ERROR msg="Failed to start gRPC listener" error="listen tcp 127.0.0.1:46557: bind: address already in use" service=matching\' >&2',
        '  exit 2',
        'fi',
        `exec '${findTemporalCli()}' "$@"`,
      ]);
      const server = await startTemporalDevServer({ port: await freePort(), uiPort: null, cli });
      started.push(server);
      await expectAnswers(server);
      await server.stop();
      // Two starts, each with ports of its own for the HTTP API and the metrics.
      const lines = await starts();
      expect(lines).toHaveLength(2);
      const portsOf = (line: string) =>
        /--http-port (\d+) --metrics-port (\d+)/.exec(line)?.slice(1);
      expect(portsOf(lines[0] ?? '')).toHaveLength(2);
      expect(portsOf(lines[0] ?? '')).not.toEqual(portsOf(lines[1] ?? ''));
    }));

  it('gives up after three starts that each lose a port', () =>
    inTempDir(async (dir) => {
      const { cli, starts } = await wrappedCli(dir, [
        `echo 'error="listen tcp 127.0.0.1:1: bind: address already in use"' >&2`,
        'exit 2',
      ]);
      await expect(
        startTemporalDevServer({ port: await freePort(), uiPort: null, cli }),
      ).rejects.toThrow(/exited before it was ready .*address already in use/s);
      expect(await starts()).toHaveLength(3);
    }));
});

/** The server answers a client for its namespace. */
async function expectAnswers(server: TemporalDevServer): Promise<void> {
  const connection = await Connection.connect({ address: server.address });
  const info = await connection.workflowService.describeNamespace({ namespace: 'default' });
  expect(info.namespaceInfo?.name).toBe('default');
  await connection.close();
}

/** Runs `work` in a fresh temporary directory, removed afterwards. */
async function inTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-temporal-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A `temporal` script in `dir` that appends its arguments to a file, one line per start, then
 * runs `body` (shell lines; `$STARTS` names that file). `starts` reads the lines back.
 */
async function wrappedCli(
  dir: string,
  body: readonly string[],
): Promise<{ cli: string; starts: () => Promise<string[]> }> {
  const cli = join(dir, 'temporal');
  const log = join(dir, 'starts');
  const script = ['#!/bin/sh', `STARTS='${log}'`, 'echo "$*" >> "$STARTS"', ...body, ''];
  await writeFile(cli, script.join('\n'));
  await chmod(cli, 0o755);
  return { cli, starts: async () => (await readFile(log, 'utf8')).trim().split('\n') };
}
