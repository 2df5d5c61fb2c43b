import { afterAll, describe, expect, it, inject } from 'vitest';
import { deploymentParts, eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';

/**
 * A wait for an event decides as it would have on time when the worker hears its timer and the
 * event together, late: the worker was down when the deadline passed, and the event came after
 * it. The wait times out (the API accepted the event after the deadline); it took the event's
 * path before.
 */
describe('a wait whose deadline passed while no worker ran', () => {
  let parts: Awaited<ReturnType<typeof deploymentParts>> | undefined;
  afterAll(async () => {
    await parts?.stopAll();
  });

  it('times out when the event was accepted after the deadline, and takes it when before', async () => {
    const s = uniqueSuffix();
    parts = await deploymentParts(inject('postgresUrl') ? 'postgres' : 'embedded', 'late');
    const start = parts.start;
    // The API in one process, the worker in another that stops and starts again.
    const apiEngine = await start({ api: true, worker: false });
    const api = apiClient(apiEngine);
    const worker = await start({ api: false, worker: true });
    const key = `late-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Order within the window',
      triggers: [{ type: 'event', event: `carted_${s}` }],
      steps: [
        {
          id: 'window',
          type: 'waitForEvent',
          event: `ordered_${s}`,
          timeout: 'PT3S',
          onTimeout: 'missed',
          next: 'ordered',
        },
        { id: 'ordered', type: 'updateTags', add: ['ordered-in-time'], next: 'done' },
        { id: 'missed', type: 'updateTags', add: ['window-missed'] },
        { id: 'done', type: 'exit' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const late = `late-${s}`;
    const early = `early-${s}`;
    for (const userId of [late, early])
      expect((await api.post('/v1/track', { userId, event: `carted_${s}` })).status).toBe(200);
    await eventually(
      async () => {
        const res = await api.get(`/v1/journeys/${key}/enrollments?step=window&status=active`);
        return (res.body as { data: unknown[] }).data.length === 2;
      },
      20_000,
      'both enrollments waiting',
    );

    // No worker while the deadline passes. One contact orders before it, the other after.
    await worker.stop();
    expect((await api.post('/v1/track', { userId: early, event: `ordered_${s}` })).status).toBe(
      200,
    );
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await api.post('/v1/track', { userId: late, event: `ordered_${s}` })).status).toBe(200);
    await start({ api: false, worker: true });

    const tagsOf = async (userId: string) =>
      ((await api.get(`/v1/contacts/${userId}`)).body as { tags?: string[] }).tags ?? [];
    await eventually(
      async () => (await tagsOf(late)).length > 0 && (await tagsOf(early)).length > 0,
      30_000,
      'both enrollments past their wait',
    );
    expect(await tagsOf(late)).toEqual(['window-missed']);
    expect(await tagsOf(early)).toEqual(['ordered-in-time']);
  }, 90_000);
});
