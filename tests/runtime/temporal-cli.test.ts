import { Connection } from '@temporalio/client';
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

    const connection = await Connection.connect({ address: server.address });
    const info = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(info.namespaceInfo?.name).toBe('default');
    await connection.close();

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
});
