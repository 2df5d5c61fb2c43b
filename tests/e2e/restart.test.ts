import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../../runtime/index.js';
import { startDrumbeat, stopDrumbeats } from '../support/process.js';
import { apiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

/**
 * `npm start` as a user runs it: the real command in its own process, stopped with Ctrl-C
 * (SIGINT) while a journey waits, and started again on the same data directory.
 */
describe('drumbeat start, stopped and started again', () => {
  const children: ChildProcess[] = [];
  let dataDir = '';

  afterAll(async () => {
    await stopDrumbeats(children);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'keeps contacts, journeys and a waiting enrollment, and leaves no dev server behind',
    { timeout: 240_000 },
    async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-restart-'));
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        TEMPORAL_PORT: String(await freePort()),
        TEMPORAL_UI_PORT: String(await freePort()),
        SMTP_SINK_PORT: String(await freePort()),
      };
      delete env.TEMPORAL_ADDRESS;
      delete env.DATABASE_URL;
      delete env.SMTP_URL;
      const apiUrl = `http://127.0.0.1:${env.PORT ?? ''}`;

      const first = await startDrumbeat('start', env, children);
      // `drumbeat start` keeps its admin key in DATA_DIR/dev-api-key, as the README shows.
      const key = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
      const api = apiClient({ apiUrl, apiHeaders: { authorization: `Bearer ${key}` } });
      await api.post(`/v1/journeys`, {
        id: 'restart',
        name: 'Survives a restart',
        triggers: [{ type: 'event', event: 'signed_up' }],
        steps: [
          { id: 'welcome', type: 'sendEmail', template: 'welcome' },
          { id: 'pause', type: 'wait', duration: 'PT8S' },
          { id: 'tips', type: 'sendEmail', template: 'tips' },
        ],
      });
      await api.post(`/v1/identify`, {
        userId: 'lin',
        traits: { email: 'lin@example.com', firstName: 'Lin' },
      });
      await api.post(`/v1/track`, { userId: 'lin', event: 'signed_up' });
      await waitForMail(api, 'lin@example.com', 1, 30_000);

      first.kill('SIGINT');
      const exitCode = await new Promise<number | null>((resolve) =>
        first.once('exit', (code) => resolve(code)),
      );
      expect(exitCode).toBe(0);
      expect(await isPortFree(Number(env.TEMPORAL_PORT))).toBe(true);
      expect(await isPortFree(Number(env.PORT))).toBe(true);

      await startDrumbeat('start', env, children);
      const contact = await api.get(`/v1/contacts/lin`);
      expect(contact.body).toMatchObject({
        firstName: 'Lin',
        email: 'lin@example.com',
        enrollments: [{ journey: 'restart' }],
      });
      expect((await api.get(`/v1/journeys/restart`)).body).toMatchObject({
        status: 'active',
        versions: [{ version: 1 }],
      });

      const mails = await waitForMail(api, 'lin@example.com', 2, 60_000);
      expect(mails.map((m) => m.subject)).toEqual([
        '3 tips to get started, Lin',
        'Welcome to Drumbeat, Lin!',
      ]);
    },
  );
});
