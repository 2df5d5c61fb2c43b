import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseContact } from '../../engine/contacts/erase.js';
import { recordSystemEvent } from '../../engine/messaging/index.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { send } from './support.js';

interface TimelineBody {
  data: { id: string; kind: string; detail: Record<string, unknown> }[];
}

/**
 * Drumbeat's own events name the address in their message ids (`email.unsubscribed:<email>:…`)
 * and tasks are rendered from the contact: erasing the contact clears both.
 */
describe.each(databaseVariants())('erase clears message ids and tasks (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('leaves the address in no event message id, task or timeline item', async () => {
    const s = uniqueSuffix();
    const userId = `forget-${s}`;
    const email = `grace.${s}@example.com`;
    expect((await api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    const { id: contactId } = (await api.get(`/v1/contacts/${userId}`)).body as { id: string };
    const subscriptions = `/v1/contacts/${userId}/subscriptions`;
    for (const [category, status] of [
      ['all', 'unsubscribed'],
      ['all', 'subscribed'],
      ['all', 'bounced'],
    ] as const) {
      const changed = await send(api, 'PUT', `${subscriptions}/${category}`, { status });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    }
    const task = await api.post('/v1/tasks', {
      title: `Call ${email}`,
      description: `Grace (${email}) asked for a demo`,
      contactId,
    });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    const { id: taskId } = task.body as { id: string };
    // An email sent to the contact with a link rendered from its address.
    const link = `https://example.com/preferences?email=${encodeURIComponent(email)}`;
    await engine.deps.prisma.emailMessage.create({
      data: {
        id: `m-${s}`,
        workspaceId: 'default',
        contactId,
        category: 'marketing',
        countsToCap: true,
        links: [link, 'https://example.com/sale'],
      },
    });

    const timeline = async () =>
      JSON.stringify(
        ((await api.get(`/v1/contacts/${contactId}/timeline?limit=200`)).body as TimelineBody).data,
      );
    // The test means something: the address is in message ids and the task before the erase.
    const messageIds = async () =>
      (
        await engine.deps.sql.query<{ id: string; message_id: string }>(
          `SELECT id, message_id FROM events WHERE contact_id = $1 ORDER BY id`,
          [contactId],
        )
      ).map((r) => ({ id: r.id, messageId: r.message_id }));
    // (The unsubscribe's; a bounce's is keyed by its suppression and names no address.)
    expect((await messageIds()).filter((e) => e.messageId.includes(email))).toHaveLength(1);
    expect(await timeline()).toContain(email);

    expect((await api.request('DELETE', `/v1/contacts/${contactId}`)).status).toBe(200);

    const events = await messageIds();
    expect(events.length).toBeGreaterThan(3);
    // Tombstones keyed by the event id, so they stay unique per workspace.
    expect(events).toEqual(events.map((e) => ({ id: e.id, messageId: `erased:${e.id}` })));
    const stored = await engine.deps.prisma.task.findUniqueOrThrow({ where: { id: taskId } });
    expect(stored).toMatchObject({ title: '[erased]', description: null, contactId });
    expect(JSON.stringify((await api.get(`/v1/tasks/${taskId}`)).body)).not.toContain(email);
    expect(await timeline()).not.toContain(email);
    expect(await timeline()).not.toContain('Grace');
    const sent = await engine.deps.prisma.emailMessage.findUniqueOrThrow({
      where: { id: `m-${s}` },
    });
    expect(sent.links).toEqual([]);

    // Erasing again (a write in flight filled the contact) writes the same tombstones.
    expect(await eraseContact(engine.deps, 'default', contactId, { again: true })).toMatchObject({
      kind: 'erased',
      counts: { tasks: 1 },
    });
    expect(await messageIds()).toEqual(events);
  }, 60_000);
  it('scrubs every address the contact was mailed at, and records or starts nothing after', async () => {
    const s = uniqueSuffix();
    const event = `joined_${s}`;
    const poked = `poked_${s}`;
    for (const [id, trigger] of [
      [`erase-old-${s}`, event],
      [`erase-after-${s}`, poked],
    ] as const) {
      const published = await api.post('/v1/journeys', {
        id,
        name: id,
        triggers: [{ type: 'event', event: trigger }],
        steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
      });
      expect(published.status, JSON.stringify(published.body)).toBe(201);
    }
    const userId = `moved-${s}`;
    const first = `Old.Address.${s}@Example.com`;
    const second = `new.address.${s}@example.com`;
    expect((await api.post('/v1/identify', { userId, traits: { email: first } })).status).toBe(200);
    const { id: contactId } = (await api.get(`/v1/contacts/${userId}`)).body as { id: string };
    expect((await api.post('/v1/track', { userId, event })).status).toBe(200);
    const records = async () =>
      JSON.stringify(
        await engine.deps.sql.query(
          `SELECT s.result, l.detail FROM enrollments e
           LEFT JOIN side_effects s ON s.enrollment_id = e.id
           LEFT JOIN enrollment_log l ON l.enrollment_id = e.id
           WHERE e.contact_id = $1`,
          [contactId],
        ),
      );
    const timeline = async () =>
      JSON.stringify(
        ((await api.get(`/v1/contacts/${contactId}/timeline?limit=200`)).body as TimelineBody).data,
      );
    // The test means something: the first address is in the journey's records and the timeline.
    await eventually(async () => (await records()).includes(first), 20_000, 'the email sent');
    expect(await timeline()).toContain(first);
    // The contact moves to another address, and is then erased.
    expect((await api.post('/v1/identify', { userId, traits: { email: second } })).status).toBe(
      200,
    );
    expect((await api.request('DELETE', `/v1/contacts/${userId}`)).status).toBe(200);
    for (const text of [await records(), await timeline()]) {
      expect(text.toLowerCase()).not.toContain(first.toLowerCase());
      expect(text).not.toContain(second);
    }

    // Nothing new about the person after the erase: an event Drumbeat observes (an old email's
    // open pixel, a task completed) is not recorded, and no journey starts for the contact.
    const recorded = await recordSystemEvent(engine.deps, {
      workspaceId: 'default',
      contactId,
      name: poked,
      messageId: `${poked}:1`,
      properties: {},
    });
    expect(recorded).toEqual({ id: null, stored: false });
    // A track naming the tombstone finds the erased contact; it starts nothing either.
    const track = await api.post('/v1/track', { userId: `erased:${contactId}`, event: poked });
    expect(track.status, JSON.stringify(track.body)).toBe(200);
    expect(track.body).toMatchObject({
      routing: { enrollments: [{ enrolled: false, reason: 'contact-not-found' }] },
    });
    const stored = await engine.deps.sql.query(
      `SELECT id FROM events WHERE contact_id = $1 AND message_id = $2`,
      [contactId, `${poked}:1`],
    );
    expect(stored).toEqual([]);
    const enrolled = await engine.deps.sql.query(
      `SELECT e.id FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
       JOIN journeys j ON j.id = v.journey_id WHERE j.key = $1`,
      [`erase-after-${s}`],
    );
    expect(enrolled).toEqual([]);
  }, 60_000);
});
