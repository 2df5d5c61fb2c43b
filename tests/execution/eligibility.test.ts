import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Answer {
  wouldEnroll: boolean;
  reason: string | null;
  explanation: string;
}

/**
 * "Why is this contact not in this journey?" asks the journey's triggers as the engine does
 * before its entry rules: a condition trigger takes a contact in when it starts to match, a
 * date trigger on the day the date comes round, and an event only if a trigger starts on it.
 * Each answer is checked against what the engine then does.
 */
describe('eligibility by trigger', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  const identify = (userId: string, traits: Record<string, unknown>) =>
    api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com`, ...traits } });
  const ask = async (key: string, contact: string, query = '') => {
    const res = await api.get(`/v1/journeys/${key}/eligibility/${contact}${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Answer;
  };
  const publish = async (definition: Record<string, unknown>) => {
    const res = await api.post('/v1/journeys', { name: 'Eligibility', ...definition });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };
  const enrolledIn = async (key: string) =>
    (
      (await api.get(`/v1/journeys/${key}/enrollments`)).body as {
        data: { contact: { userId: string } }[];
      }
    ).data.map((e) => e.contact.userId);

  it('a condition trigger: a contact who matched already at publish is not taken by its next event', async () => {
    const s = uniqueSuffix();
    const key = `gold-${s}`;
    await identify(`early-${s}`, { tier: `gold-${s}` });
    await identify(`plain-${s}`, { tier: 'none' });
    await publish({
      id: key,
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `gold-${s}` },
        },
      ],
      entry: { reentry: 'afterExit' },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    await eventually(
      async () => {
        const runs = (await api.get(`/v1/journeys/${key}/audience-runs`)).body as {
          data: { status: string }[];
        };
        return runs.data[0]?.status === 'done';
      },
      20_000,
      'the pass over existing contacts',
    );

    const early = await ask(key, `early-${s}`);
    expect(early).toMatchObject({ wouldEnroll: false, reason: 'matched-already' });
    expect(early.explanation).toMatch(/starts to meet it again/);
    expect(await ask(key, `plain-${s}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'trigger-condition-not-met',
    });
    // Any event can start a condition trigger: the condition decides, not the event's name.
    expect(await ask(key, `early-${s}`, `?event=visited_${s}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'matched-already',
    });
    expect(await ask(key, `plain-${s}`, '?event=')).toMatchObject({
      reason: 'trigger-condition-not-met',
    });
    // The engine agrees: an event of the early contact takes it nowhere.
    const tracked = await api.post('/v1/track', { userId: `early-${s}`, event: `visited_${s}` });
    expect(tracked.body).toMatchObject({ routing: { enrollments: [] } });
    expect(await enrolledIn(key)).toEqual([]);

    // A contact who matches and has not matched before would enter on its next event, and does.
    await identify(`fresh-${s}`, {});
    await engine.deps.prisma.contact.updateMany({
      where: { userId: `fresh-${s}` },
      data: { attributes: { email: `fresh-${s}@example.com`, tier: `gold-${s}` } },
    });
    expect(await ask(key, `fresh-${s}`, `?event=visited_${s}`)).toMatchObject({
      wouldEnroll: true,
    });
    await api.post('/v1/track', { userId: `fresh-${s}`, event: `visited_${s}` });
    expect(await enrolledIn(key)).toEqual([`fresh-${s}`]);

    // The plain contact starting to match is taken in, as its answer said it would be.
    await identify(`plain-${s}`, { tier: `gold-${s}` });
    expect((await enrolledIn(key)).sort()).toEqual([`fresh-${s}`, `plain-${s}`].sort());
  });

  it('a date trigger: the contact whose date is today would enter, keyed by the date', async () => {
    const s = uniqueSuffix();
    const key = `birthday-${s}`;
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    const today = `1990-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}`;
    const other = `1990-${pad(((now.getUTCMonth() + 6) % 12) + 1)}-15`;
    await identify(`today-${s}`, { birthday: today });
    await identify(`later-${s}`, { birthday: other });
    await identify(`none-${s}`, {});
    await publish({
      id: key,
      triggers: [{ type: 'date', attribute: 'birthday', yearly: true, time: '09:00' }],
      steps: [{ id: 'card', type: 'sendEmail', template: 'tips', subject: 'Happy birthday' }],
    });
    expect(await ask(key, `today-${s}`)).toMatchObject({ wouldEnroll: true, reason: null });
    expect(await ask(key, `later-${s}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'date-not-due',
    });
    expect(await ask(key, `none-${s}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'date-not-due',
    });
  });

  it('an event: only one a trigger starts on, its filter read on the properties given', async () => {
    const s = uniqueSuffix();
    const key = `big-${s}`;
    await identify(`buyer-${s}`, {});
    await publish({
      id: key,
      triggers: [
        {
          type: 'event',
          event: `ordered_${s}`,
          filter: { type: 'gte', field: 'event.total', value: 100 },
        },
      ],
      steps: [{ id: 'thanks', type: 'sendEmail', template: 'welcome' }],
    });
    expect(await ask(key, `buyer-${s}`, `?event=visited_${s}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'not-a-trigger',
    });
    const small = encodeURIComponent(JSON.stringify({ total: 20 }));
    expect(await ask(key, `buyer-${s}`, `?event=ordered_${s}&properties=${small}`)).toMatchObject({
      wouldEnroll: false,
      reason: 'not-a-trigger',
    });
    const big = encodeURIComponent(JSON.stringify({ total: 250 }));
    expect(await ask(key, `buyer-${s}`, `?event=ordered_${s}&properties=${big}`)).toMatchObject({
      wouldEnroll: true,
    });

    const bad = await api.get(`/v1/journeys/${key}/eligibility/buyer-${s}?properties=%7Bnope`);
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ errors: [{ pointer: '/properties' }] });
    const alone = await api.get(`/v1/journeys/${key}/eligibility/buyer-${s}?properties=%7B%7D`);
    expect(alone.status).toBe(422);
    expect(alone.body).toMatchObject({ errors: [{ pointer: '/event' }] });
  });
});
