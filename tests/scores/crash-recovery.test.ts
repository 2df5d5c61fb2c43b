import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../runtime/index.js';
import { databaseVariants, eventually, uniqueSuffix } from '../support/engine.js';
import { startDrumbeat } from '../support/process.js';

/**
 * An accepted event is never forgotten: the API process is killed right after answering a
 * batch and before routing it (a fault point the test switches on), and the event is routed
 * when the API starts again. Nor is an enrollment: killed after recording one and before
 * starting its workflow, the process routes the event again on its next start, and the
 * journey runs once.
 */
describe.each(databaseVariants())(
  'a crash between accepting and routing (%s database)',
  (variant) => {
    const children: ChildProcess[] = [];
    const dataDirs: string[] = [];
    afterAll(async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
    });

    it('routes the accepted event after restart', { timeout: 120_000 }, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-crash-'));
      dataDirs.push(dataDir);
      const port = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        SMTP_SINK_PORT: String(await freePort()),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `crash-${uniqueSuffix()}`,
        DATABASE_URL: variant === 'postgres' ? (inject('postgresUrl') ?? '') : '',
      };
      const base = `http://127.0.0.1:${port}`;

      const first = await startDrumbeat(
        'api',
        { ...env, DRUMBEAT_FAULT: 'exit-before-routing' },
        children,
      );
      const key = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const s = uniqueSuffix();
      const published = await call('POST', '/v1/journeys', {
        id: `crash-${s}`,
        name: 'Crash',
        triggers: [{ type: 'event', event: `crashed_${s}` }],
        steps: [{ id: 'hold', type: 'wait', duration: 'PT1H' }],
      });
      expect(published.status).toBeLessThan(300);
      const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
      const accepted = await call('POST', '/v1/batch', {
        batch: [{ type: 'track', userId: `u-${s}`, event: `crashed_${s}`, messageId: `m-${s}` }],
      });
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toMatchObject({ accepted: 1 });
      expect(await exited).toBe(137);

      await startDrumbeat('api', env, children);
      const contact = await eventually(
        async () => {
          const res = await call('GET', `/v1/contacts/u-${s}`);
          const body = (await res.json()) as { enrollments?: unknown[] };
          return body.enrollments && body.enrollments.length > 0 ? body : undefined;
        },
        30_000,
        'the enrollment the event starts',
      );
      expect(contact).toMatchObject({ enrollments: [{ journey: `crash-${s}` }] });
    });

    it(
      'starts the journey of an enrollment recorded just before the process died',
      { timeout: 120_000 },
      async () => {
        const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-crash-'));
        dataDirs.push(dataDir);
        const port = await freePort();
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DATA_DIR: dataDir,
          PORT: String(port),
          SMTP_SINK_PORT: String(await freePort()),
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          TEMPORAL_TASK_QUEUE: `crash-${uniqueSuffix()}`,
          DATABASE_URL: variant === 'postgres' ? (inject('postgresUrl') ?? '') : '',
        };
        const base = `http://127.0.0.1:${port}`;
        const first = await startDrumbeat(
          'start',
          { ...env, DRUMBEAT_FAULT: 'exit-before-workflow-start' },
          children,
        );
        const key = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
        const call = async (method: string, path: string, body?: unknown) => {
          const res = await fetch(`${base}${path}`, {
            method,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        const s = uniqueSuffix();
        const email = `lost-${s}@example.com`;
        const published = await call('POST', '/v1/journeys', {
          id: `crash-start-${s}`,
          name: 'Crash before start',
          triggers: [{ type: 'event', event: `signed_up_${s}` }],
          steps: [
            { id: 'hello', type: 'sendEmail', template: 'welcome' },
            { id: 'hold', type: 'wait', duration: 'PT1H' },
          ],
        });
        expect(published.status, JSON.stringify(published.body)).toBeLessThan(300);
        const identified = await call('POST', '/v1/identify', {
          userId: `u-${s}`,
          traits: { email, firstName: 'Lin' },
        });
        expect(identified.status).toBe(200);

        const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
        // The process dies inside this request: no answer comes.
        const answered = await call('POST', '/v1/track', {
          userId: `u-${s}`,
          event: `signed_up_${s}`,
          messageId: `m-${s}`,
        }).then(
          () => true,
          () => false,
        );
        expect(answered, 'the process died before answering').toBe(false);
        expect(await exited).toBe(137);

        await startDrumbeat('start', env, children);
        const contact = await eventually(
          async () => {
            const res = await call('GET', `/v1/contacts/u-${s}`);
            const enrollments = res.body.enrollments as { status: string }[] | undefined;
            return enrollments?.[0]?.status === 'active' ? res.body : undefined;
          },
          60_000,
          'the recorded enrollment to run and wait',
        );
        expect(contact.enrollments).toEqual([
          expect.objectContaining({ journey: `crash-start-${s}`, status: 'active' }),
        ]);
        const mail = await call('GET', `/v1/mailbox?to=${encodeURIComponent(email)}`);
        expect((mail.body.data as unknown[]).length, 'the welcome email, once').toBe(1);
      },
    );
  },
);
