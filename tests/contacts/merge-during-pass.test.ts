import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { lockHolder, someoneWaitsOnALock } from '../support/enrollment.js';
import { apiClient } from '../support/http.js';

/**
 * A scoring pass reads pending events with their contact and writes points later in the same
 * transaction. A merge that moved a visitor's events in between left the pass writing points
 * to the deleted visitor, and the contact that stayed never got them. A merge now waits for a
 * pass in flight (the pass holds the cursor row, which the merge takes to share), and a pass
 * waits for the merge. PostgreSQL only: the embedded database runs one transaction at a time.
 */
describe('a merge and a scoring pass in flight (PostgreSQL)', () => {
  const held = lockHolder();
  let engine: Awaited<ReturnType<typeof startTestEngine>> | undefined;
  beforeAll(async () => {
    if (inject('postgresUrl')) engine = await startTestEngine('postgres');
  });
  afterAll(async () => engine?.cleanup());

  it('waits for the pass before moving the visitor', async (ctx) => {
    if (!engine) return ctx.skip();
    const api = apiClient(engine);
    const s = uniqueSuffix();
    const userId = `stays-${s}`;
    const anonymousId = `visitor-${s}`;
    expect((await api.post('/v1/identify', { userId })).status).toBe(200);
    expect((await api.post('/v1/track', { anonymousId, event: `browsed_${s}` })).status).toBe(200);
    const visitor = () =>
      engine!.deps.prisma.contact.findFirst({ where: { anonymousIds: { has: anonymousId } } });
    const visitorId = (await visitor())?.id;
    expect(visitorId).toBeTruthy();

    // A pass in flight: it holds the cursor row until it commits.
    await held.query('BEGIN');
    await held.query(`SELECT 1 FROM score_cursor WHERE id = 'events' FOR UPDATE`);
    let merged = false;
    const merging = api.post('/v1/identify', { userId, anonymousId }).then((res) => {
      merged = true;
      return res;
    });
    try {
      // The merge's share lock on the cursor (other engines' passes wait FOR UPDATE).
      await someoneWaitsOnALock(held, 'the merge waiting for the pass', 'FOR SHARE');
      expect(merged).toBe(false);
      expect((await visitor())?.id).toBe(visitorId);
    } finally {
      await held.query('COMMIT');
    }
    expect((await merging).status).toBe(200);
    expect(await engine.deps.prisma.contact.findUnique({ where: { id: visitorId ?? '' } })).toBe(
      null,
    );
  });
});
