import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContactFacts } from '../../engine/facts.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';

/**
 * Points a journey gives by hand (`adjustScore`, 15 to `lead` in the shipped webinar journey)
 * count in the journey conditions' `score.lead` beside what an active scoring model computes:
 * the model's `lead` used to replace them, so an `score.lead >= 60` hand-off never saw them.
 */
describe('manual score adjustments beside a scoring model', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => engine?.cleanup());

  it("adds a journey's points to the model's score of the same name", async () => {
    const s = uniqueSuffix();
    const published = await api.post('/v1/scoring-models', {
      id: `manual-${s}`,
      name: 'Visits',
      engagement: { rules: [{ id: 'visit', event: `visited_${s}`, points: 10 }] },
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `adjusted-${s}`;
    expect((await api.post('/v1/track', { userId, event: `visited_${s}` })).status).toBe(200);
    const contact = await engine.deps.prisma.contact.findFirstOrThrow({ where: { userId } });
    // What an adjustScore step of 15 on `lead` (and 3 on a score no model has) leaves.
    await engine.deps.prisma.contact.update({
      where: { id: contact.id },
      data: { attributes: { scores: { lead: 15, manual: 3 } } },
    });
    const facts = await loadContactFacts(engine.deps.sql, 'default', contact.id, null);
    expect(facts?.scores).toMatchObject({ engagement: 10, lead: 25, manual: 3 });
    // The score API shows them beside the model's scores, so what journeys act on adds up.
    const score = (await api.get(`/v1/contacts/${userId}/score`)).body as {
      scores: { lead: number }[];
      adjustments: Record<string, number>;
    };
    expect(score.scores.map((m) => m.lead)).toEqual([10]);
    expect(score.adjustments).toEqual({ lead: 15, manual: 3 });
  });

  it("lists each journey step's points with its reason beside the score", async () => {
    const s = uniqueSuffix();
    const published = await api.post('/v1/journeys', {
      id: `webinar-${s}`,
      name: 'Webinar follow-up',
      triggers: [{ type: 'event', event: `attended_${s}` }],
      entry: { reentry: 'everyTime' },
      steps: [
        { id: 'thanks', type: 'adjustScore', points: 15, reason: 'Attended the webinar' },
        { id: 'bonus', type: 'adjustScore', score: 'events', points: -2 },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `attendee-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    await api.post('/v1/track', { userId, event: `attended_${s}` });
    const log = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/${userId}/score`)).body as {
          adjustments: Record<string, number>;
          adjustmentLog: Record<string, unknown>[];
        };
        return body.adjustmentLog.length === 2 ? body : undefined;
      },
      20_000,
      'both steps',
    );
    expect(log.adjustments).toEqual({ lead: 15, events: -2 });
    expect(log.adjustmentLog).toEqual([
      expect.objectContaining({
        score: 'events',
        points: -2,
        reason: null,
        total: -2,
        step: 'bonus',
      }),
      expect.objectContaining({
        score: 'lead',
        points: 15,
        reason: 'Attended the webinar',
        total: 15,
        journey: `webinar-${s}`,
        step: 'thanks',
      }),
    ]);
    // A second attendance adds up, and the log says what the total was after each.
    await api.post('/v1/track', { userId, event: `attended_${s}` });
    const again = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/${userId}/score`)).body as {
          adjustmentLog: { score: string; total: number }[];
        };
        return body.adjustmentLog.length === 4 ? body : undefined;
      },
      20_000,
      'the second attendance',
    );
    expect(again.adjustmentLog.filter((e) => e.score === 'lead').map((e) => e.total)).toEqual([
      30, 15,
    ]);
  });
});
