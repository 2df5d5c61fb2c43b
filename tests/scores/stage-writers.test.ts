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
        engagement: {
          rules: [
            { id: 'click', event: clicked, points: 30 },
            { id: 'cool', event: `cooled_${s}`, points: -30 },
          ],
        },
        fit: {
          rules: [
            {
              id: 'enterprise',
              condition: { type: 'contains', field: 'tags', value: `enterprise-${s}` },
              points: 70,
            },
            {
              id: 'customer',
              condition: { type: 'contains', field: 'lists', value: `customers-${s}` },
              points: 70,
            },
          ],
        },
        lifecycle: {
          thresholds: [
            { stage: 'lead', enterAt: 10, exitBelow: 5 },
            { stage: 'mql', enterAt: 60, exitBelow: 45 },
          ],
        },
      });
      expect(published.status).toBe(201);
      // Publishing rescores the workspace's contacts in the background; the tests' stage moves
      // are to come from their own changes, not from that pass reaching a contact late.
      await eventually(
        async () =>
          (
            (await api.get(`/v1/scoring-models/m-${s}`)).body as {
              versions: { rescore: { status: string } }[];
            }
          ).versions.every((v) => v.rescore.status === 'done'),
        20_000,
        'the first rescore',
      );
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

    it('takes the stage away when the score falls below every threshold, and goes on scoring', async () => {
      const cooling = `c-${uniqueSuffix()}`;
      await api.post('/v1/identify', {
        userId: cooling,
        traits: { email: `${cooling}@example.com` },
      });
      expect((await click(cooling, 1)).status).toBe(200);
      expect((await api.get(`/v1/contacts/${cooling}/score`)).status).toBe(200);
      expect(await stageOf(cooling)).toBe('lead');
      // 0 points: under `lead`'s exit, and no stage below it. The contact's attributes stay.
      await api.post('/v1/batch', {
        batch: [{ type: 'track', userId: cooling, event: `cooled_${s}` }],
      });
      expect((await api.get(`/v1/contacts/${cooling}/score`)).status).toBe(200);
      const contact = (await api.get(`/v1/contacts/${cooling}`)).body as Record<string, unknown>;
      expect(contact.email).toBe(`${cooling}@example.com`);
      expect(contact.lifecycleStage).toBeUndefined();
      // The scorer goes on: another contact's points are scored and move its stage.
      const next = `n-${uniqueSuffix()}`;
      expect((await click(next, 1)).status).toBe(200);
      expect((await api.get(`/v1/contacts/${next}/score`)).status).toBe(200);
      expect(await stageOf(next)).toBe('lead');
    });

    it('moves the stage when a tag or a list changes the fit, with no event after it', async () => {
      const tagged = `t-${uniqueSuffix()}`;
      const listed = `l-${uniqueSuffix()}`;
      // Identified and scored (a score read waits for the scorer) before anything changes.
      for (const userId of [tagged, listed]) {
        await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
        expect((await api.get(`/v1/contacts/${userId}/score`)).status).toBe(200);
      }
      expect(await stageOf(tagged)).toBeUndefined();
      expect(
        (await api.post(`/v1/contacts/${tagged}/tags`, { tags: [`enterprise-${s}`] })).status,
      ).toBe(200);
      await eventually(
        async () => (await stageOf(tagged)) === 'mql',
        20_000,
        'the tag to move the stage',
      );

      expect((await api.post('/v1/lists', { key: `customers-${s}` })).status).toBe(201);
      expect(
        (await api.post(`/v1/lists/customers-${s}/members`, { contacts: [listed] })).status,
      ).toBe(200);
      await eventually(
        async () => (await stageOf(listed)) === 'mql',
        20_000,
        'the list to move the stage',
      );
      // Taken off the list, the fit falls below the threshold's exit: the stage goes.
      const off = await api.request('DELETE', `/v1/lists/customers-${s}/members/${listed}`);
      expect(off.status).toBe(200);
      await eventually(
        async () => (await stageOf(listed)) !== 'mql',
        20_000,
        'the stage to fall back',
      );
    });
  },
);
