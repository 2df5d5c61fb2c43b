import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, unroutedEvents, type IncomingMessage } from '../../engine/index.js';
import { sqlTime } from '../../store/index.js';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { sqlRefusing } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { createPostgresDatabase } from '../support/postgres.js';

/** The recovery time of this file's engine: short, so its sweep acts within the test. */
const RECOVERY_SECONDS = 4;

/**
 * An event whose routing never finished (its process died, or a write failed and the client
 * never retried) is routed by a process that keeps running, once the event is older than
 * ROUTING_RECOVERY_SECONDS: no restart is needed, and a process that starts leaves alone the
 * fresh events other processes are routing. On PostgreSQL the engine has a database of its
 * own: its sweep routes every workspace's stale events, and on the database the run's files
 * share it would take theirs onto its own task queue.
 */
describe.each(databaseVariants())('routing what no process routed (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let workspaceId: string;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>> = null;

  beforeAll(async () => {
    if (variant === 'postgres') database = await createPostgresDatabase();
    engine = await startTestEngine(variant, {
      ROUTING_RECOVERY_SECONDS: String(RECOVERY_SECONDS),
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
    const workspace = await createWorkspace(apiClient(engine), `recovery ${uniqueSuffix()}`);
    workspaceId = workspace.id;
    api = workspace.api;
  });
  afterAll(async () => {
    await engine?.cleanup();
    await database?.drop();
  });

  const track = (s: string, event: string): IncomingMessage => ({
    type: 'track',
    messageId: `m-${s}`,
    userId: `u-${s}`,
    anonymousId: null,
    event,
    traits: {},
    properties: {},
    timestamp: new Date(),
  });

  /** Stores the message as the API would and fails its routing, as a database blip would. */
  const storeUnrouted = async (message: IncomingMessage): Promise<string> => {
    const failing = sqlRefusing(engine.deps.sql, 'enroll-insert');
    await expect(ingest({ ...engine.deps, sql: failing }, workspaceId, message)).rejects.toThrow(
      'database briefly unavailable',
    );
    const [row] = await engine.deps.sql.query<{ id: string; routed_at: Date | null }>(
      `SELECT id, routed_at FROM events WHERE workspace_id = $1 AND message_id = $2`,
      [workspaceId, message.messageId],
    );
    expect(row?.routed_at).toBeNull();
    return row?.id ?? '';
  };

  /** A journey that `event` triggers and that waits a day, so its enrollment stays running. */
  const publish = async (s: string, event: string) => {
    const published = await api.post('/v1/journeys', {
      id: `recover-${s}`,
      name: 'Recover',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  };
  const routedAt = async (eventId: string) =>
    (
      await engine.deps.sql.query<{ routed_at: Date | null }>(
        `SELECT routed_at FROM events WHERE id = $1`,
        [eventId],
      )
    )[0]?.routed_at ?? null;
  /** Sets when the event was received, `ms` from now on this process's clock (UTC). */
  const receivedIn = (eventId: string, ms: number) =>
    engine.deps.sql.query(`UPDATE events SET received_at = $2::timestamp(3) WHERE id = $1`, [
      eventId,
      sqlTime(Date.now() + ms),
    ]);

  it('routes an event left unrouted without a retry or a restart', async () => {
    const s = uniqueSuffix();
    const event = `signed_up_${s}`;
    await publish(s, event);
    const eventId = await storeUnrouted(track(s, event));
    const contact = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/u-${s}`)).body as {
          enrollments?: { journey: string }[];
        };
        return body.enrollments?.length ? body : undefined;
      },
      20_000,
      'the sweep to route the event',
    );
    expect(contact.enrollments).toEqual([expect.objectContaining({ journey: `recover-${s}` })]);
    await eventually(async () => (await routedAt(eventId)) !== null, 10_000, 'the routed mark');
  });

  it('takes only events unrouted for longer than the recovery time', async () => {
    const s = uniqueSuffix();
    const event = `signed_up_${s}`;
    await publish(s, event);
    const eventId = await storeUnrouted(track(s, event));
    // Received "just now" for as long as the checks take (the sweep cannot take it meanwhile):
    // another process may be routing it, so the sweep's query leaves it alone.
    await receivedIn(eventId, 10 * 60_000);
    const stale = async () =>
      (
        await unroutedEvents(engine.deps, null, 10_000, {
          cutoff: Date.now() - RECOVERY_SECONDS * 1000,
        })
      ).map((e) => e.id);
    expect(await stale()).not.toContain(eventId);
    expect(await routedAt(eventId)).toBeNull();
    await receivedIn(eventId, -2 * 60_000);
    // Listed now, unless this engine's sweep routed it first; routed in the end.
    const listed = (await stale()).includes(eventId);
    expect(listed || (await routedAt(eventId)) !== null).toBe(true);
    await eventually(async () => (await routedAt(eventId)) !== null, 15_000, 'routing');
  });
});
