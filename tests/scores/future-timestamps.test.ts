import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScoringModel, validateScoringModel } from '../../definitions/index.js';
import { activeScoringPlans } from '../../engine/scoring-plans.js';
import { rescoreContact } from '../../engine/rescore-contact.js';
import { foldEvents, valueAt } from '../../scoring/index.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;

interface ScoreBody {
  scores: { model: string; engagement: number }[];
}

/**
 * A sender whose clock runs ahead dates its events in the future. Points count from when the
 * event was received at the latest, so reading the score right away gives the rule's points,
 * not points multiplied by the decay still to come (a 10-point event four weeks ahead under a
 * one-week half-life read as 160; the year 2100 as Infinity). The event keeps its timestamp.
 */
describe.each(databaseVariants())('events dated in the future (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let workspace: string;
  const s = uniqueSuffix();
  const model = `future-${s}`;
  const event = `visited_${s}`;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    // A workspace of its own: on the shared PostgreSQL database, a scoring model published in
    // the default one rescores (and may move the stage of) every other test file's contacts.
    ({ id: workspace, api } = await createWorkspace(apiClient(engine), `future-${s}`));
    const published = await api.post('/v1/scoring-models', {
      id: model,
      name: 'Weekly decay',
      engagement: { halfLife: 'P7D', rules: [{ id: 'visit', event, points: 10 }] },
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  });
  afterAll(async () => engine?.cleanup());

  const engagementOf = async (userId: string) => {
    const res = await api.get(`/v1/contacts/${userId}/score`);
    expect(res.status).toBe(200);
    return (res.body as ScoreBody).scores.find((x) => x.model === model)?.engagement;
  };
  const storedTimestamp = async (userId: string) => {
    const rows = await engine.deps.sql.query<{ ms: number }>(
      `SELECT (extract(epoch FROM timestamp) * 1000)::float8 AS ms FROM events WHERE user_id = $1`,
      [userId],
    );
    return rows.map((r) => Number(r.ms));
  };

  it('scores an event 28 days ahead at its plain points, scored as it is stored', async () => {
    const userId = `sync-${uniqueSuffix()}`;
    const timestamp = Date.now() + 4 * WEEK;
    const tracked = await api.post('/v1/track', {
      userId,
      event,
      timestamp: new Date(timestamp).toISOString(),
    });
    expect(tracked.status).toBe(200);
    const engagement = await engagementOf(userId);
    expect(engagement).toBeLessThanOrEqual(10);
    expect(engagement).toBeCloseTo(10, 3);
    expect(await storedTimestamp(userId)).toEqual([timestamp]);
  });

  it('scores an event 28 days ahead at its plain points, scored in the background', async () => {
    const userId = `bulk-${uniqueSuffix()}`;
    const timestamp = Date.now() + 4 * WEEK;
    const res = await api.post('/v1/batch', {
      batch: [{ type: 'track', userId, event, timestamp: new Date(timestamp).toISOString() }],
    });
    expect(res.status).toBe(200);
    const engagement = await engagementOf(userId);
    expect(engagement).toBeLessThanOrEqual(10);
    expect(engagement).toBeCloseTo(10, 3);
    expect(await storedTimestamp(userId)).toEqual([timestamp]);
  });

  it('keeps the plain points when the contact is scored again from its history (a merge, a new version)', async () => {
    const userId = `rescored-${uniqueSuffix()}`;
    const timestamp = Date.now() + 4 * WEEK;
    const tracked = await api.post('/v1/track', {
      userId,
      event,
      timestamp: new Date(timestamp).toISOString(),
    });
    expect(tracked.status).toBe(200);
    const [contact] = await engine.deps.sql.query<{ id: string }>(
      'SELECT id FROM contacts WHERE workspace_id = $1 AND user_id = $2',
      [workspace, userId],
    );
    const [row] = await engine.deps.sql.query<{ id: string }>(
      'SELECT id FROM scoring_models WHERE key = $1',
      [model],
    );
    const plan = (await activeScoringPlans(engine.deps.sql, workspace, 0)).find(
      (p) => p.modelId === row?.id,
    );
    expect(plan && contact).toBeTruthy();
    if (!plan || !contact) return;
    await engine.deps.prisma.$transaction((tx) => rescoreContact(tx, plan, contact.id));
    const engagement = await engagementOf(userId);
    expect(engagement).toBeLessThanOrEqual(10);
    expect(engagement).toBeCloseTo(10, 3);
  });

  it('keeps a score finite for an event dated in the year 2100', async () => {
    const userId = `far-${uniqueSuffix()}`;
    await api.post('/v1/track', { userId, event, timestamp: '2100-01-01T00:00:00.000Z' });
    expect(await engagementOf(userId)).toBeCloseTo(10, 3);
  });
});

describe('scoring time in the pure core', () => {
  it('folds an event received before its timestamp from when it was received', () => {
    const validated = validateScoringModel({
      id: 'fold',
      name: 'Fold',
      engagement: { halfLife: 'P7D', rules: [{ id: 'visit', event: 'visited', points: 10 }] },
    });
    if (!validated.ok) throw new Error('the model is invalid');
    const plan = compileScoringModel(validated.value);
    const receivedMs = Date.UTC(2026, 0, 1);
    const folded = foldEvents(plan, [
      { id: 'e1', name: 'visited', properties: {}, atMs: receivedMs + 4 * WEEK, receivedMs },
    ]);
    expect(folded.entries[0]?.atMs).toBe(receivedMs);
    expect(valueAt(folded.decayed, receivedMs, plan.halfLifeMs)).toBe(10);
  });
});
