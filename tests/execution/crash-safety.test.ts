import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { startEngine, type RunningEngine } from '../../runtime/engine.js';
import { freePort } from '../../runtime/index.js';
import { eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { startDrumbeat, stopDrumbeats } from '../support/process.js';

interface Received {
  to: string;
  subject: string;
  messageId: string;
}

/**
 * A worker process is killed with SIGKILL while some enrollments are in the middle of sending
 * (their SMTP transactions held open by the server) and others wait in a timer. A new worker
 * takes over; every enrollment finishes and the SMTP server receives every email exactly once.
 */
describe('crash safety', () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopDrumbeats(children);
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it(
    'finishes every enrollment and sends every email once when the worker is SIGKILLed mid-send and mid-wait',
    { timeout: 180_000 },
    async (ctx) => {
      const postgresUrl = inject('postgresUrl');
      // Two processes share the database, so this needs PostgreSQL (PGlite is in-process only).
      if (!postgresUrl) return ctx.skip();

      const smtp = await startGatedSmtpServer();
      cleanups.push(smtp.stop);
      const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-crash-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const env = {
        DATA_DIR: dataDir,
        DATABASE_URL: postgresUrl,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `crash-${uniqueSuffix()}`,
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        PORT: '0',
      };
      const api: RunningEngine = await startEngine(loadConfig(env), {
        roles: { api: true, worker: false },
      });
      cleanups.push(() => api.stop());
      const client = apiClient(api);

      const s = uniqueSuffix();
      const published = await client.post('/v1/journeys', {
        id: `crash-${s}`,
        name: 'Crash safety',
        triggers: [{ type: 'event', event: `joined_${s}` }],
        steps: [
          { id: 'welcome', type: 'sendEmail', template: 'welcome' },
          { id: 'pause', type: 'wait', duration: 'PT3S' },
          { id: 'tips', type: 'sendEmail', template: 'tips' },
        ],
      });
      expect(published.status).toBe(201);

      let worker = await startDrumbeat('worker', { ...process.env, ...env }, children);
      const enroll = async (group: string, count: number) => {
        const emails: string[] = [];
        for (let i = 0; i < count; i++) {
          const userId = `${group}-${i}-${s}`;
          emails.push(`${userId}@example.com`);
          await client.post('/v1/identify', {
            userId,
            traits: { email: `${userId}@example.com`, firstName: 'Kim' },
          });
          await client.post('/v1/track', { userId, event: `joined_${s}` });
        }
        return emails;
      };

      // Group A gets its welcome email and waits in the timer.
      const waiting = await enroll('waiting', 5);
      await eventually(
        () => smtp.received.filter((m) => waiting.includes(m.to)).length === 5,
        30_000,
        'group A welcomes',
      );
      // Group B's welcome emails are mid-send: the server holds them before accepting anything.
      smtp.close();
      const sending = await enroll('sending', 5);
      await eventually(() => smtp.held() >= 5, 30_000, 'group B sends to be in flight');

      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      smtp.open(); // the held transactions belong to a dead process: nothing of theirs is accepted
      worker = await startDrumbeat('worker', { ...process.env, ...env }, children);

      const everyone = [...waiting, ...sending];
      await eventually(
        () => everyone.every((to) => smtp.received.filter((m) => m.to === to).length >= 2),
        120_000,
        'every enrollment to finish',
      );
      await new Promise((resolve) => setTimeout(resolve, 2000)); // a late duplicate would show up now
      for (const to of everyone) {
        const mine = smtp.received.filter((m) => m.to === to);
        expect(mine.map((m) => m.subject).sort(), to).toEqual([
          '3 tips to get started, Kim',
          'Welcome to Drumbeat, Kim!',
        ]);
        expect(new Set(mine.map((m) => m.messageId)).size).toBe(2);
      }
      worker.kill('SIGTERM');
    },
  );
});

/** An SMTP server whose gate, when closed, holds every transaction at RCPT TO (before any data). */
async function startGatedSmtpServer() {
  const received: Received[] = [];
  let gateOpen = true;
  const waiting: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (gateOpen) return callback();
      waiting.push(() => callback());
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const to = Array.isArray(mail.to) ? mail.to[0]?.text : mail.to?.text;
          received.push({
            to: to ?? '',
            subject: mail.subject ?? '',
            messageId: mail.messageId ?? '',
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    received,
    held: () => waiting.length,
    close: () => void (gateOpen = false),
    open: () => {
      gateOpen = true;
      for (const release of waiting.splice(0)) release();
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
