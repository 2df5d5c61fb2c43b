import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';

interface Timeline {
  data: { id: string; kind: string; detail: Record<string, unknown> }[];
}

/**
 * What a merge (an identify finding an anonymous visitor of the same person) leaves behind:
 * nothing. The batch's other messages follow the visitor to the contact that stays, tags are
 * combined, and the visitor's tasks, emails and deferred sends move over.
 */
describe.each(databaseVariants())('merging contacts (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => engine?.cleanup());

  const contactOf = (userId: string) =>
    engine.deps.prisma.contact.findFirstOrThrow({ where: { workspaceId: 'default', userId } });
  const visitorOf = (anonymousId: string) =>
    engine.deps.prisma.contact.findFirstOrThrow({
      where: { workspaceId: 'default', anonymousIds: { has: anonymousId } },
    });
  const timelineOf = async (contactId: string) =>
    ((await api.get(`/v1/contacts/${contactId}/timeline?limit=200`)).body as Timeline).data;

  it('stores an anonymous track under the contact that an identify later in the batch merges it into', async () => {
    const s = uniqueSuffix();
    const userId = `pricing-${s}`;
    const anonymousId = `a-${s}`;
    expect((await api.post('/v1/identify', { userId, traits: { plan: 'pro' } })).status).toBe(200);

    const batch = await api.post('/v1/batch', {
      batch: [
        { type: 'track', anonymousId, event: `viewed_pricing_${s}` },
        { type: 'identify', userId, anonymousId },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ accepted: 2 });

    const contact = await contactOf(userId);
    expect(contact.anonymousIds).toEqual([anonymousId]);
    const track = await engine.deps.prisma.event.findFirstOrThrow({
      where: { workspaceId: 'default', name: `viewed_pricing_${s}` },
    });
    expect(track.contactId).toBe(contact.id);
    expect(await engine.deps.prisma.contact.count({ where: { id: track.contactId ?? '' } })).toBe(
      1,
    );
    const events = (await timelineOf(contact.id)).filter((i) => i.kind === 'event');
    expect(events.map((i) => i.detail.name)).toContain(`viewed_pricing_${s}`);
  });

  it('applies a later identify of the merged visitor to the contact that stays', async () => {
    const s = uniqueSuffix();
    const userId = `later-${s}`;
    const anonymousId = `a-${s}`;
    await api.post('/v1/identify', { userId, traits: { plan: 'pro' } });

    const batch = await api.post('/v1/batch', {
      batch: [
        { type: 'identify', anonymousId, traits: { company: 'Acme' } },
        { type: 'identify', userId, anonymousId, traits: { seats: 5 } },
        { type: 'identify', anonymousId, traits: { role: 'cto' } },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ accepted: 3 });

    const contact = await contactOf(userId);
    expect(contact.attributes).toEqual({ plan: 'pro', company: 'Acme', seats: 5, role: 'cto' });
    const stored = await engine.deps.prisma.event.findMany({
      where: { workspaceId: 'default', anonymousId },
    });
    expect(stored.map((e) => e.contactId)).toEqual([contact.id, contact.id, contact.id]);
  });

  it('combines the tags of both contacts, keeping the visitor’s unsubscribed, and records it', async () => {
    const s = uniqueSuffix();
    const userId = `tags-${s}`;
    const anonymousId = `a-${s}`;
    await api.post('/v1/identify', { userId });
    await api.post('/v1/track', { anonymousId, event: `visited_${s}` });
    const visitor = await visitorOf(anonymousId);
    const tag = (contact: string, tags: string[]) =>
      api.post(`/v1/contacts/${contact}/tags`, { tags });
    expect((await tag(userId, ['vip', 'webinar'])).status).toBe(200);
    expect((await tag(visitor.id, ['unsubscribed', 'webinar'])).status).toBe(200);

    const merged = await api.post('/v1/identify', { userId, anonymousId });
    expect(merged.status).toBe(200);

    const contact = await contactOf(userId);
    expect(contact.attributes).toMatchObject({ tags: ['vip', 'webinar', 'unsubscribed'] });
    const changes = (await timelineOf(contact.id)).filter(
      (i) => i.kind === 'attributeChange' && i.detail.attribute === 'tags',
    );
    expect(changes.map((i) => i.detail)).toContainEqual(
      expect.objectContaining({
        from: ['vip', 'webinar'],
        to: ['vip', 'webinar', 'unsubscribed'],
        source: 'merge',
      }),
    );
  });

  it('moves the visitor’s tasks, emails sent and deferred sends to the contact that stays', async () => {
    const s = uniqueSuffix();
    const userId = `rows-${s}`;
    const anonymousId = `a-${s}`;
    await api.post('/v1/identify', { userId });
    await api.post('/v1/track', { anonymousId, event: `visited_${s}` });
    const visitor = await visitorOf(anonymousId);
    const { prisma } = engine.deps;
    const of = { workspaceId: 'default', contactId: visitor.id };
    await prisma.task.create({
      data: { id: `task-${s}`, ...of, title: 'Call back', priority: 'normal', status: 'open' },
    });
    await prisma.emailMessage.create({
      data: { id: `mail-${s}`, ...of, category: 'newsletter', countsToCap: true },
    });
    await prisma.sendDeferral.create({
      data: {
        id: `deferral-${s}`,
        key: `deferral-${s}`,
        ...of,
        enrollmentId: `enrollment-${s}`,
        stepId: 'welcome',
        priority: 0,
        reason: 'quietHours',
        until: new Date(Date.now() + 3_600_000),
      },
    });

    expect((await api.post('/v1/identify', { userId, anonymousId })).status).toBe(200);

    const contact = await contactOf(userId);
    expect(await prisma.contact.findUnique({ where: { id: visitor.id } })).toBeNull();
    expect(await prisma.task.findUniqueOrThrow({ where: { id: `task-${s}` } })).toMatchObject({
      contactId: contact.id,
    });
    expect(
      await prisma.emailMessage.findUniqueOrThrow({ where: { id: `mail-${s}` } }),
    ).toMatchObject({ contactId: contact.id });
    expect(
      await prisma.sendDeferral.findUniqueOrThrow({ where: { id: `deferral-${s}` } }),
    ).toMatchObject({ contactId: contact.id });
    expect((await timelineOf(contact.id)).map((i) => i.id)).toContain(`task:task-${s}`);
  });
});
