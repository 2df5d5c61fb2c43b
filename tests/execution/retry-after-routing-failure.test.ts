import type { Client, WorkflowClient } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IncomingMessage } from '../../engine/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { sqlRefusing, temporalRefusing } from '../support/faults.js';
import { waitForMail } from '../support/mailbox.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * A `track` is committed before it is routed; when routing fails (the database or Temporal
 * briefly unavailable) the API answers 500 and the client retries with the same `messageId`.
 * The retry is a repeat, stored once, and it routes the stored event the failure left behind:
 * the journey starts now, not at the next process start.
 */
describe.each(databaseVariants())('retrying a track whose routing failed (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  /** A journey that `event` triggers and that waits a day, so its enrollment stays running. */
  const publish = async (s: string, event: string) => {
    const published = await api.post('/v1/journeys', {
      id: `retry-${s}`,
      name: 'Retry',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  };
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
  /** The client's retry, through the API, of the message the failed call stored. */
  const retry = (message: IncomingMessage) =>
    api.post('/v1/track', {
      messageId: message.messageId,
      userId: message.userId,
      event: message.event,
    });
  const routedAt = async (eventId: string) =>
    (
      await engine.deps.sql.query<{ routed_at: Date | null }>(
        `SELECT routed_at FROM events WHERE id = $1`,
        [eventId],
      )
    )[0]?.routed_at ?? null;
  const eventOf = async (messageId: string) =>
    (
      await engine.deps.sql.query<{ id: string }>(
        `SELECT id FROM events WHERE workspace_id = 'default' AND message_id = $1`,
        [messageId],
      )
    )[0]?.id ?? '';

  it('enrolls the contact on the retry when the database failed while routing', async () => {
    const s = uniqueSuffix();
    const event = `signed_up_${s}`;
    await publish(s, event);
    // The database refuses the enrollment's insert: the event is stored, the contact not enrolled.
    const failing = sqlRefusing(engine.deps.sql, 'enroll-insert');
    const message = track(s, event);
    await expect(ingest({ ...engine.deps, sql: failing }, 'default', message)).rejects.toThrow(
      'database briefly unavailable',
    );
    const eventId = await eventOf(message.messageId);
    expect(await routedAt(eventId)).toBeNull();

    const again = await retry(message);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      eventId,
      stored: false,
      routing: { enrollments: [{ enrolled: true }] },
    });
    const { body } = await api.get(`/v1/contacts/u-${s}`);
    expect(body).toMatchObject({ enrollments: [{ journey: `retry-${s}` }] });
    await eventually(async () => (await routedAt(eventId)) !== null, 5_000, 'the routed mark');
  });

  it('enrolls once when the same event is routed again, even where re-entry allows a new entry', async () => {
    const s = uniqueSuffix();
    const event = `ordered_${s}`;
    const published = await api.post('/v1/journeys', {
      id: `every-${s}`,
      name: 'Every order',
      triggers: [{ type: 'event', event }],
      entry: { reentry: 'everyTime' },
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const message = track(s, event);
    const first = await retry(message);
    expect(first.body).toMatchObject({ routing: { enrollments: [{ enrolled: true }] } });
    const eventId = await eventOf(message.messageId);
    await eventually(async () => (await routedAt(eventId)) !== null, 5_000, 'the routed mark');
    // As after a crash before the routed mark, or a retry that found it not written yet.
    await engine.deps.sql.query(`UPDATE events SET routed_at = NULL WHERE id = $1`, [eventId]);

    const again = await retry(message);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      stored: false,
      routing: { enrollments: [{ enrolled: false, reason: 'already-enrolled' }] },
    });
    const rows = await engine.deps.sql.query<{ id: string }>(
      `SELECT e.id FROM enrollments e JOIN contacts c ON c.id = e.contact_id
       WHERE c.workspace_id = 'default' AND c.user_id = $1`,
      [`u-${s}`],
    );
    expect(rows).toHaveLength(1);
    // Another order (another event) is another entry.
    expect((await api.post('/v1/track', { userId: `u-${s}`, event })).body).toMatchObject({
      routing: { enrollments: [{ enrolled: true }] },
    });
  });

  it("starts the enrollment's workflow on the retry when Temporal failed while routing", async () => {
    const s = uniqueSuffix();
    const event = `signed_up_${s}`;
    await publish(s, event);
    // Temporal refuses the start: the enrollment is recorded, its workflow does not run.
    const real = engine.deps.temporal;
    const workflow = new Proxy<WorkflowClient>(real.workflow, {
      get: (target, prop): unknown =>
        prop === 'start'
          ? () => Promise.reject(new Error('Temporal briefly unavailable'))
          : Reflect.get(target, prop, target),
    });
    const temporal = new Proxy<Client>(real, {
      get: (target, prop): unknown =>
        prop === 'workflow' ? workflow : Reflect.get(target, prop, target),
    });
    const message = track(s, event);
    await expect(ingest({ ...engine.deps, temporal }, 'default', message)).rejects.toThrow(
      'Temporal briefly unavailable',
    );
    const [pending] = await engine.deps.sql.query<{ id: string }>(
      `SELECT e.id FROM enrollments e JOIN contacts c ON c.id = e.contact_id
       WHERE c.workspace_id = 'default' AND c.user_id = $1 AND e.status = 'pending'`,
      [`u-${s}`],
    );
    expect(pending).toBeDefined();
    const enrollmentId = pending?.id ?? '';

    const again = await retry(message);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ stored: false });
    const described = await real.workflow.getHandle(enrollmentId).describe();
    expect(described.status.name).toBe('RUNNING');
    const eventId = await eventOf(message.messageId);
    await eventually(async () => (await routedAt(eventId)) !== null, 5_000, 'the routed mark');
  });

  it('starts a left-over enrollment with its own trigger event, not the event that found it', async () => {
    const s = uniqueSuffix();
    const event = `checkout_${s}`;
    const published = await api.post('/v1/journeys', {
      id: `leftover-${s}`,
      name: 'Checkout reminder',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'remind', type: 'sendEmail', template: 'checkout-reminder' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `u-${s}`;
    const email = `buyer.${s}@example.com`;
    expect((await api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    // The first checkout enrolls the contact, and Temporal refuses the start: left pending.
    const down = { ...engine.deps, temporal: temporalRefusing(engine.deps.temporal, 'start') };
    const first = { ...track(s, event), properties: { plan: 'Alpha' } };
    await expect(ingest(down, 'default', first)).rejects.toThrow('Temporal unavailable');
    // Another checkout of the contact is refused (the first enrollment runs) and starts the
    // left-over one: about the first checkout, as it was decided.
    const second = await api.post('/v1/track', { userId, event, properties: { plan: 'Beta' } });
    expect(second.body).toMatchObject({
      routing: { enrollments: [{ enrolled: false, reason: 'already-enrolled' }] },
    });
    const [mail] = await waitForMail(api, email);
    expect(mail?.subject).toBe('Your Alpha order is waiting');
  });
});
