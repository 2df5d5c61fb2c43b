import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../runtime/index.js';
import { databaseVariants, eventually, uniqueSuffix } from '../support/engine.js';
import { createPostgresDatabase } from '../support/postgres.js';
import { startDrumbeat, stopDrumbeats } from '../support/process.js';

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
    const databases: { drop: () => Promise<void> }[] = [];
    afterEach(() => stopDrumbeats(children));
    afterAll(async () => {
      await stopDrumbeats(children);
      for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
      for (const database of databases) await database.drop();
    });

    /**
     * A Drumbeat process (`command`) started with `fault` switched on; `env` starts it again
     * without, `exited` resolves with its exit code, and `call` speaks to its API.
     */
    const withFault = async (command: 'api' | 'start', fault: string) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'drumbeat-crash-'));
      dataDirs.push(dataDir);
      // On PostgreSQL a database of its own: a process that starts routes events unrouted for
      // ROUTING_RECOVERY_SECONDS of every workspace, other test files' slow ones included.
      const database = variant === 'postgres' ? await createPostgresDatabase() : null;
      if (database) databases.push(database);
      const base: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `crash-${uniqueSuffix()}`,
        DATABASE_URL: database?.url ?? '',
        // On PostgreSQL a process that starts routes only events unrouted for this long.
        ROUTING_RECOVERY_SECONDS: '3',
      };
      // A free port can be taken by another test's process before the child binds it: then
      // the child says so and exits, and it is started again on other ports.
      let port = 0;
      let env: NodeJS.ProcessEnv = base;
      let first: ChildProcess | null = null;
      for (let attempt = 1; !first; attempt++) {
        port = await freePort();
        env = { ...base, PORT: String(port), SMTP_SINK_PORT: String(await freePort()) };
        first = await startDrumbeat(command, { ...env, DRUMBEAT_FAULT: fault }, children).catch(
          (error: unknown) => {
            if (attempt < 3 && String(error).includes('already in use')) return null;
            throw error;
          },
        );
      }
      const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
      const key = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`http://127.0.0.1:${port}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      return { env, exited, call };
    };

    it('routes the accepted event after restart', { timeout: 120_000 }, async () => {
      const { env, exited, call } = await withFault('api', 'exit-before-routing');
      const s = uniqueSuffix();
      const published = await call('POST', '/v1/journeys', {
        id: `crash-${s}`,
        name: 'Crash',
        triggers: [{ type: 'event', event: `crashed_${s}` }],
        steps: [{ id: 'hold', type: 'wait', duration: 'PT1H' }],
      });
      expect(published.status).toBeLessThan(300);
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
        const { env, exited, call } = await withFault('start', 'exit-before-workflow-start');
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
        expect(published.status).toBeLessThan(300);
        const identified = await call('POST', '/v1/identify', {
          userId: `u-${s}`,
          traits: { email, firstName: 'Lin' },
        });
        expect(identified.status).toBe(200);

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
            const body = (await res.json()) as { enrollments?: { status: string }[] };
            return body.enrollments?.[0]?.status === 'active' ? body : undefined;
          },
          60_000,
          'the recorded enrollment to run and wait',
        );
        expect(contact.enrollments).toEqual([
          expect.objectContaining({ journey: `crash-start-${s}`, status: 'active' }),
        ]);
        const mail = await call('GET', `/v1/mailbox?to=${encodeURIComponent(email)}`);
        expect(
          ((await mail.json()) as { data: unknown[] }).data,
          'the welcome email, once',
        ).toHaveLength(1);
      },
    );
  },
);
