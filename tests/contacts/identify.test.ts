import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';

interface BatchBody {
  accepted: number;
  warnings?: { index: number; code: string }[];
}

/**
 * What an identify does to its contact, through /v1/identify and /v1/batch alike: traits merge
 * onto it, the email is set unless another identified contact holds it, and a contact found to
 * be the same person (an anonymous visitor, an email-only row) is merged in.
 */
describe.each(databaseVariants())('identify (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => engine?.cleanup());

  const contactOf = (userId: string) =>
    engine.deps.prisma.contact.findFirstOrThrow({ where: { workspaceId: 'default', userId } });
  const eventsOf = async (contactId: string) =>
    (
      await engine.deps.prisma.event.findMany({
        where: { contactId },
        orderBy: { timestamp: 'asc' },
      })
    ).map((e) => e.name ?? e.type);

  it('merges traits onto the contact: new values win, others stay, ids are appended once', async () => {
    const s = uniqueSuffix();
    const userId = `merge-traits-${s}`;
    const first = await api.post('/v1/identify', {
      userId,
      anonymousId: `a-${s}`,
      traits: {
        email: ` Mia.${s}@Example.com `,
        plan: 'free',
        company: 'Acme',
        timezone: 'Europe/Paris',
      },
    });
    expect(first.status).toBe(200);
    expect(first.body).not.toHaveProperty('warning');

    const before = Date.now();
    const batch = await api.post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          userId,
          anonymousId: `a-${s}`,
          traits: { plan: 'pro', nickname: null, locale: 'de' },
        },
        { type: 'identify', userId, anonymousId: `b-${s}`, traits: { seats: 3 } },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body as BatchBody).not.toHaveProperty('warnings');

    const contact = await contactOf(userId);
    expect(contact).toMatchObject({
      email: `Mia.${s}@Example.com`,
      emailKey: `mia.${s}@example.com`,
      anonymousIds: [`a-${s}`, `b-${s}`],
      timezone: 'Europe/Paris',
      locale: 'de',
    });
    expect(contact.attributes).toEqual({
      plan: 'pro',
      company: 'Acme',
      timezone: 'Europe/Paris',
      nickname: null,
      locale: 'de',
      seats: 3,
    });
    expect(contact.updatedAt.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('leaves an email held by another identified contact there and warns, applying the rest', async () => {
    const s = uniqueSuffix();
    const holder = `holder-${s}`;
    const other = `other-${s}`;
    await api.post('/v1/identify', { userId: holder, traits: { email: `kim.${s}@example.com` } });

    const single = await api.post('/v1/identify', {
      userId: other,
      traits: { email: ` KIM.${s}@Example.com`, plan: 'pro' },
    });
    expect(single.status).toBe(200);
    expect(single.body).toMatchObject({ warning: 'email-taken' });

    const batch = await api.post('/v1/batch', {
      batch: [
        { type: 'track', userId: other, event: `seen_${s}` },
        { type: 'identify', userId: other, traits: { email: `kim.${s}@example.com`, seats: 2 } },
      ],
    });
    expect(batch.status).toBe(200);
    expect((batch.body as BatchBody).warnings).toEqual([{ index: 1, code: 'email-taken' }]);

    expect(await contactOf(holder)).toMatchObject({ email: `kim.${s}@example.com` });
    const taker = await contactOf(other);
    expect(taker).toMatchObject({ email: null, emailKey: null });
    expect(taker.attributes).toEqual({ plan: 'pro', seats: 2 });
  });

  it('adds up the points journeys gave each of two contacts that merge', async () => {
    const s = uniqueSuffix();
    const userId = `scored-${s}`;
    const anonymousId = `scored-visitor-${s}`;
    await api.post('/v1/identify', { userId, traits: { plan: 'pro' } });
    await api.post('/v1/track', { anonymousId, event: `viewed_${s}` });
    // Points an `adjustScore` step gave each (its only writer, so set here as it writes them).
    const give = (where: { userId: string } | { anonymousIds: { has: string } }, scores: object) =>
      engine.deps.prisma.contact.updateMany({
        where,
        data: { attributes: { plan: 'pro', scores } },
      });
    await give({ userId }, { manual: 10, webinar: 5 });
    await give({ anonymousIds: { has: anonymousId } }, { manual: 15, ebook: 3 });

    expect((await api.post('/v1/identify', { userId, anonymousId, traits: {} })).status).toBe(200);
    const contact = await contactOf(userId);
    expect(contact.anonymousIds).toEqual([anonymousId]);
    expect((contact.attributes as { scores: unknown }).scores).toEqual({
      manual: 25,
      webinar: 5,
      ebook: 3,
    });
  });

  it('merges an anonymous visitor into a known contact that a batch identifies with its anonymousId', async () => {
    const s = uniqueSuffix();
    const userId = `known-${s}`;
    const anonymousId = `visitor-${s}`;
    const now = Date.now();
    await api.post('/v1/identify', { userId, traits: { plan: 'pro' }, timestamp: iso(now - 4000) });
    const visit = await api.post('/v1/batch', {
      batch: [
        { type: 'track', anonymousId, event: `viewed_${s}`, timestamp: iso(now - 3000) },
        {
          type: 'identify',
          anonymousId,
          traits: { company: 'Acme', plan: 'free' },
          timestamp: iso(now - 2500),
        },
      ],
    });
    expect(visit.status).toBe(200);
    const visitor = await engine.deps.prisma.contact.findFirstOrThrow({
      where: { anonymousIds: { has: anonymousId } },
    });

    const batch = await api.post('/v1/batch', {
      batch: [
        { type: 'identify', userId, anonymousId, traits: { seats: 5 }, timestamp: iso(now - 2000) },
        { type: 'track', userId, event: `clicked_${s}`, timestamp: iso(now - 1000) },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body as BatchBody).toMatchObject({ accepted: 2 });
    expect(batch.body as BatchBody).not.toHaveProperty('warnings');

    expect(await engine.deps.prisma.contact.findUnique({ where: { id: visitor.id } })).toBeNull();
    const contact = await contactOf(userId);
    expect(contact.anonymousIds).toEqual([anonymousId]);
    // The known contact wins on conflicts; the visitor fills gaps.
    expect(contact.attributes).toEqual({ plan: 'pro', company: 'Acme', seats: 5 });
    expect(await eventsOf(contact.id)).toEqual([
      'identify',
      `viewed_${s}`,
      'identify',
      'identify',
      `clicked_${s}`,
    ]);
  });

  it('merges an email-only contact into the contact that a batch identifies with its email', async () => {
    const s = uniqueSuffix();
    const created = await api.post('/v1/contacts', {
      email: `lee.${s}@example.com`,
      timezone: 'Asia/Tokyo',
      attributes: { company: 'Acme' },
    });
    expect(created.status).toBe(201);
    const emailOnly = (created.body as { id: string }).id;

    const userId = `lee-${s}`;
    const batch = await api.post('/v1/batch', {
      batch: [
        { type: 'identify', userId, traits: { email: ` LEE.${s}@example.com `, firstName: 'Lee' } },
        { type: 'track', userId, event: `clicked_${s}` },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body as BatchBody).not.toHaveProperty('warnings');

    expect(await engine.deps.prisma.contact.findUnique({ where: { id: emailOnly } })).toBeNull();
    const contact = await contactOf(userId);
    expect(contact).toMatchObject({
      email: `LEE.${s}@example.com`,
      emailKey: `lee.${s}@example.com`,
      timezone: 'Asia/Tokyo',
    });
    expect(contact.attributes).toEqual({
      company: 'Acme',
      timezone: 'Asia/Tokyo',
      firstName: 'Lee',
    });
  });
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
