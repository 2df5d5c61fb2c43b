import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * Thresholds keep acting after a journey step sets a contact's stage: the points that come
 * after it move the contact as the thresholds say, whatever stage the model gave before.
 */
describe.each(databaseVariants())(
  'stages set by hand, then by thresholds (%s database)',
  (variant) => {
    let engine: Awaited<ReturnType<typeof startTestEngine>>;
    let api: ApiClient;
    const s = uniqueSuffix();
    const clicked = `clicked_${s}`;

    beforeAll(async () => {
      engine = await startTestEngine(variant);
      api = (await createWorkspace(apiClient(engine), `stages-${s}`)).api;
      const published = await api.post('/v1/scoring-models', {
        id: `m-${s}`,
        name: 'Stages',
        engagement: { rules: [{ id: 'click', event: clicked, points: 30 }] },
        lifecycle: {
          thresholds: [
            { stage: 'lead', enterAt: 10, exitBelow: 5 },
            { stage: 'mql', enterAt: 60, exitBelow: 45 },
          ],
        },
      });
      expect(published.status).toBe(201);
      const demote = await api.post('/v1/journeys', {
        id: `demote-${s}`,
        name: 'Back to nurture',
        triggers: [{ type: 'event', event: `demote_${s}` }],
        steps: [{ id: 'back', type: 'setLifecycleStage', stage: 'lead' }],
      });
      expect(demote.status, JSON.stringify(demote.body)).toBe(201);
    });
    afterAll(async () => engine?.cleanup());

    const stageOf = async (userId: string) =>
      ((await api.get(`/v1/contacts/${userId}`)).body as { lifecycleStage: string | null })
        .lifecycleStage;
    const click = (userId: string, n: number) =>
      api.post('/v1/batch', {
        batch: Array.from({ length: n }, () => ({ type: 'track', userId, event: clicked })),
      });

    it('moves a contact that a journey step set back, on the next points', async () => {
      const userId = `u-${uniqueSuffix()}`;
      expect((await click(userId, 3)).status).toBe(200);
      // The score read waits for the scorer: 90 points make an MQL.
      expect((await api.get(`/v1/contacts/${userId}/score`)).status).toBe(200);
      expect(await stageOf(userId)).toBe('mql');

      // A journey sends the contact back to `lead`.
      await api.post('/v1/track', { userId, event: `demote_${s}` });
      await eventually(async () => (await stageOf(userId)) === 'lead', 20_000, 'the journey step');

      // With 120 points, the thresholds make an MQL again.
      expect((await click(userId, 1)).status).toBe(200);
      expect((await api.get(`/v1/contacts/${userId}/score`)).status).toBe(200);
      expect(await stageOf(userId)).toBe('mql');
      const contact = await engine.deps.prisma.contact.findFirstOrThrow({ where: { userId } });
      const moves = await engine.deps.prisma.event.findMany({
        where: { contactId: contact.id, name: 'lifecycle_stage_changed' },
        orderBy: { receivedAt: 'asc' },
      });
      expect(moves.map((e) => (e.properties as { to: string }).to)).toEqual(['mql', 'lead', 'mql']);
    });
  },
);
