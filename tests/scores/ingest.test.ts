import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';

interface ScoreBody {
  scores: {
    model: string;
    engagement: number;
    fit: number;
    lead: number;
    grade: string;
    stage: string | null;
    explanation: { engagement: { rule: string; events: number; points: number; now: number }[] };
  }[];
}

/**
 * The event API takes a firehose without losing or doubling anything, and scores follow every
 * accepted event exactly, with their explanation.
 */
describe.each(databaseVariants())('events and scores (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  const s = uniqueSuffix();
  const model = `m-${s}`;
  const clicked = `clicked_${s}`;
  const viewed = `viewed_${s}`;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
    const published = await api.post('/v1/scoring-models', {
      id: model,
      name: 'Exact sums',
      engagement: {
        rules: [
          { id: 'click', event: clicked, points: 3 },
          {
            id: 'pricing',
            event: viewed,
            filter: { type: 'contains', field: 'event.path', value: '/pricing' },
            points: 10,
            cap: { points: 20, per: 'P1D' },
          },
        ],
      },
      lifecycle: { thresholds: [{ stage: 'mql', enterAt: 30, exitBelow: 20 }] },
    });
    expect(published.status).toBe(201);
  });
  afterAll(async () => engine?.cleanup());

  const scoreOf = async (userId: string) => {
    const res = await api.get(`/v1/contacts/${userId}/score`);
    expect(res.status).toBe(200);
    const body = res.body as ScoreBody;
    const score = body.scores.find((x) => x.model === model);
    if (!score) throw new Error(`no score for ${model}`);
    return score;
  };

  it('counts every event of parallel batches for one contact exactly once', async () => {
    const userId = `u-${uniqueSuffix()}`;
    const requests = variant === 'postgres' ? 12 : 4;
    const perRequest = 100;
    const batches = Array.from({ length: requests }, (_, r) => ({
      batch: Array.from({ length: perRequest }, (_, i) => ({
        type: 'track',
        userId,
        event: clicked,
        messageId: `${userId}-${r}-${i}`,
        timestamp: new Date(Date.now() - i * 1000).toISOString(),
      })),
    }));
    const answers = await Promise.all(batches.map((b) => api.post('/v1/batch', b)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const score = await scoreOf(userId);
    const total = requests * perRequest * 3;
    expect(score.engagement).toBe(total);
    expect(score.explanation.engagement).toEqual([
      expect.objectContaining({ rule: 'click', events: requests * perRequest, points: total }),
    ]);

    // Replaying every batch (as a client retrying after a timeout would) changes nothing.
    const replays = await Promise.all(batches.map((b) => api.post('/v1/batch', b)));
    for (const replay of replays)
      expect(replay.body).toMatchObject({ accepted: 0, duplicates: perRequest });
    expect((await scoreOf(userId)).engagement).toBe(total);
    // Crossing the threshold made the contact an MQL.
    expect(score.stage).toBe('mql');
  });

  it('caps a rule per period whatever the order, and reports bad messages one by one', async () => {
    const userId = `u-${uniqueSuffix()}`;
    const day = Date.UTC(2025, 0, 10);
    const res = await api.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId,
          event: viewed,
          properties: { path: '/pricing' },
          timestamp: new Date(day + 5000).toISOString(),
        },
        { type: 'track', userId, event: viewed, properties: { path: '/blog' } },
        { type: 'track', userId, properties: {} },
        { type: 'page', userId, name: 'Pricing', properties: { path: '/pricing' } },
        { type: 'alias', userId, previousId: 'x' },
        {
          type: 'track',
          userId,
          event: viewed,
          properties: { path: '/pricing' },
          timestamp: new Date(day + 1000).toISOString(),
        },
        {
          type: 'track',
          userId,
          event: viewed,
          properties: { path: '/pricing/teams' },
          timestamp: new Date(day + 3000).toISOString(),
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      accepted: 5,
      rejected: 2,
      errors: [
        { index: 2, pointer: '/batch/2/event' },
        { index: 4, pointer: '/batch/4/type', code: 'unsupported-type' },
      ],
    });
    const score = await scoreOf(userId);
    // Three /pricing views on one day give 20 (the cap), not 30; the blog and page views give 0.
    expect(score.engagement).toBe(20);
    expect(score.explanation.engagement).toEqual([
      expect.objectContaining({ rule: 'pricing', events: 3, points: 20 }),
    ]);
  });

  it('decays engagement exactly at read time and keeps out-of-order events', async () => {
    const decaying = `d-${uniqueSuffix()}`;
    const event = `read_${decaying}`;
    await api.post('/v1/scoring-models', {
      id: decaying,
      name: 'Decay',
      engagement: { halfLife: 'P1D', rules: [{ id: 'read', event, points: 8 }] },
    });
    const userId = `u-${uniqueSuffix()}`;
    const now = Date.now();
    const ages = [0, 2 * 86_400_000, 86_400_000]; // out of order on purpose
    await api.post('/v1/batch', {
      batch: ages.map((age) => ({
        type: 'track',
        userId,
        event,
        timestamp: new Date(now - age).toISOString(),
      })),
    });
    const res = await api.get(`/v1/contacts/${userId}/score`);
    const score = (res.body as ScoreBody).scores.find((x) => x.model === decaying);
    const readAt = Date.now();
    const expected = ages.reduce(
      (sum, age) => sum + 8 * 2 ** (-(readAt - (now - age)) / 86_400_000),
      0,
    );
    expect(score?.engagement).toBeCloseTo(expected, 3);
    expect(score?.explanation.engagement[0]?.points).toBe(24);
  });

  it('merges an anonymous visitor into the contact once identified', async () => {
    const anonymousId = `anon-${uniqueSuffix()}`;
    const userId = `u-${uniqueSuffix()}`;
    await api.post('/v1/batch', {
      batch: [
        { type: 'track', anonymousId, event: clicked },
        { type: 'track', anonymousId, event: clicked },
      ],
    });
    const identified = await api.post('/v1/identify', {
      userId,
      anonymousId,
      traits: { email: ` ${userId}@Example.com ` },
    });
    expect(identified.status).toBe(200);
    expect((await scoreOf(userId)).engagement).toBe(6);
    const contact = await api.get(`/v1/contacts/${userId}`);
    expect(contact.body).toMatchObject({ email: `${userId}@Example.com` });
  });
});
