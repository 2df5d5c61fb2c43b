import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { acceptMessages, settleScores } from '../../engine/index.js';
import { scorePass } from '../../engine/scorer.js';
import type { Sql } from '../../store/index.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { createWorkspace } from '../api/workspaces.js';

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
    // A workspace of its own: on the shared PostgreSQL database, a scoring model published in
    // the default one rescores (and may move the stage of) every other test file's contacts.
    api = (await createWorkspace(apiClient(engine), `sums-${s}`)).api;
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
    // Stored to the millisecond as sent (they travel to the database as epoch milliseconds).
    const stored = await engine.deps.sql.query<{ ms: number }>(
      `SELECT (extract(epoch FROM timestamp) * 1000)::float8 AS ms FROM events
       WHERE user_id = $1 ORDER BY timestamp`,
      [userId],
    );
    expect(stored.map((r) => Number(r.ms))).toEqual(
      [...ages].sort((a, b) => b - a).map((age) => now - age),
    );
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

/**
 * Bulk events are scored by the background scorer, whose cursor follows transaction ids. A
 * transaction that stored events early but commits late must not be skipped: the cursor may
 * not pass it while it runs, and scores it once when it commits. Only PostgreSQL has
 * concurrent transactions to show this with.
 */
describe.runIf(inject('postgresUrl'))('the background scorer and late commits', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let workspace: string;
  const held = new pg.Client({ connectionString: inject('postgresUrl') ?? '' });
  const s = uniqueSuffix();
  const model = `late-${s}`;
  const clicked = `late_clicked_${s}`;

  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    // A workspace of its own: on the shared PostgreSQL database, a scoring model published in
    // the default one rescores (and may move the stage of) every other test file's contacts.
    ({ id: workspace, api } = await createWorkspace(apiClient(engine), `late-${s}`));
    const published = await api.post('/v1/scoring-models', {
      id: model,
      name: 'Late commits',
      engagement: { rules: [{ id: 'click', event: clicked, points: 3 }] },
    });
    expect(published.status).toBe(201);
    await held.connect();
  });
  afterAll(async () => {
    await held.end();
    await engine?.cleanup();
  });

  const points = async (userId: string): Promise<number> => {
    const rows = await engine.deps.sql.query<{ points: number }>(
      `SELECT s.points FROM contact_scores s JOIN contacts c ON c.id = s.contact_id
       JOIN scoring_models m ON m.active_version_id = s.version_id
       WHERE c.user_id = $1 AND m.key = $2`,
      [userId, model],
    );
    return Number(rows[0]?.points ?? 0);
  };
  const click = (userId: string) => ({
    type: 'track' as const,
    messageId: `${userId}-${uniqueSuffix()}`,
    userId,
    anonymousId: null,
    event: clicked,
    traits: {},
    properties: {},
    timestamp: new Date(),
  });

  it('scores a single track in its request, and stores one that no rule scores unmarked', async () => {
    const userId = `single-${uniqueSuffix()}`;
    // Nothing scores this one: stored in one statement (which makes the contact), not left
    // for the background scorer.
    const unscored = await api.post('/v1/track', { userId, event: `unscored_${s}` });
    expect(unscored.status).toBe(200);
    const [stored] = await engine.deps.sql.query<{ marked: boolean; contact: string | null }>(
      `SELECT e.score_xid IS NOT NULL AS marked, c.user_id AS contact
       FROM events e LEFT JOIN contacts c ON c.id = e.contact_id WHERE e.id = $1`,
      [(unscored.body as { eventId: string }).eventId],
    );
    expect(stored).toEqual({ marked: false, contact: userId });
    // A rule scores this one: the score is there when the request is answered, no scorer pass.
    const scored = await api.post('/v1/track', { userId, event: clicked });
    expect(scored.status).toBe(200);
    expect(await points(userId)).toBe(3);
  });

  it('does not pass a transaction that commits after later ones, and scores it once', async () => {
    const early = `early-${uniqueSuffix()}`;
    const late = `late-${uniqueSuffix()}`;
    for (const userId of [early, late]) {
      await api.post('/v1/batch', { batch: [{ type: 'track', userId, event: clicked }] });
      await settleScores(engine.deps);
      expect(await points(userId)).toBe(3);
    }

    // A batch accepted inside a transaction that stays open, as a slow request would be.
    await held.query('BEGIN');
    const inHeld: Sql = {
      query: async <R extends object>(text: string, params?: readonly unknown[]) =>
        (await held.query<R>(text, params ? [...params] : [])).rows,
      transaction: (work) => work(inHeld),
    };
    await acceptMessages(
      { prisma: engine.deps.prisma, sql: inHeld },
      workspace,
      [click(early)],
      new Date(),
      'later',
    );
    // A later batch commits first; passes may not score past the open transaction.
    const answered = await api.post('/v1/batch', {
      batch: [{ type: 'track', userId: late, event: clicked }],
    });
    expect(answered.status).toBe(200);
    for (let i = 0; i < 3; i++) await scorePass(engine.deps.sql);
    expect(await points(early)).toBe(3);
    expect(await points(late)).toBe(3);

    await held.query('COMMIT');
    await settleScores(engine.deps);
    expect(await points(early)).toBe(6);
    expect(await points(late)).toBe(6);
    for (let i = 0; i < 3; i++) await scorePass(engine.deps.sql);
    expect(await points(early)).toBe(6);
    expect(await points(late)).toBe(6);
  });

  it('goes on past an event whose score entry is recorded already', async () => {
    const userId = `entered-${uniqueSuffix()}`;
    const after = `after-${uniqueSuffix()}`;
    // Accepted for the scorer and given its entry in one transaction, so no pass comes between.
    await held.query('BEGIN');
    const inHeld: Sql = {
      query: async <R extends object>(text: string, params?: readonly unknown[]) =>
        (await held.query<R>(text, params ? [...params] : [])).rows,
      transaction: (work) => work(inHeld),
    };
    const [accepted] = (
      await acceptMessages(
        { prisma: engine.deps.prisma, sql: inHeld },
        workspace,
        [click(userId)],
        new Date(),
        'later',
      )
    ).messages;
    await held.query(
      `INSERT INTO score_entries (contact_id, version_id, event_id, rule_id, requested, points, at)
       SELECT $1, active_version_id, $2, 'click', 3, 3, now() FROM scoring_models WHERE key = $3`,
      [accepted?.contactId, accepted?.eventId, model],
    );
    await held.query('COMMIT');

    await settleScores(engine.deps);
    expect(await points(userId)).toBe(3);
    // The cursor moved past it: a later event is scored too.
    await api.post('/v1/batch', { batch: [{ type: 'track', userId: after, event: clicked }] });
    await settleScores(engine.deps);
    expect(await points(after)).toBe(3);
  });
});
