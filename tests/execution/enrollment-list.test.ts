import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface EnrollmentPage {
  data: { id: string; status: string; currentStep: string | null; contact: { userId: string } }[];
  nextCursor: string | null;
}

/** A journey's enrollments through the API: every one reachable by paging, filtered when asked. */
describe('journey enrollments list', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('pages through every enrollment and filters by status and current step', async () => {
    const s = uniqueSuffix();
    const key = `listed-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Listed',
      triggers: [{ type: 'event', event: `joined_${s}` }],
      steps: [{ id: 'long', type: 'wait', duration: 'P30D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const users = Array.from({ length: 5 }, (_, i) => `listed-${i}-${s}`);
    for (const userId of users) {
      expect((await api.post('/v1/track', { userId, event: `joined_${s}` })).status).toBe(200);
    }
    const list = async (query: string) => {
      const res = await api.get(`/v1/journeys/${key}/enrollments?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as EnrollmentPage;
    };
    await eventually(
      async () => (await list('step=long')).data.length === 5,
      20_000,
      'every enrollment waiting at its step',
    );

    // Two at a time: three pages, each enrollment once, oldest first.
    const paged: EnrollmentPage['data'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.data.length).toBeLessThanOrEqual(2);
      paged.push(...page.data);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(paged.map((e) => e.contact.userId)).toEqual(users);
    expect((await list('')).data.map((e) => e.id)).toEqual(paged.map((e) => e.id));

    expect((await list('status=active')).data).toHaveLength(5);
    expect((await list('status=completed')).data).toHaveLength(0);
    expect((await list('step=elsewhere')).data).toHaveLength(0);
    for (const [query, pointer] of [
      ['status=Active', '/status'],
      ['step=long&step=long', '/step'],
      ['cursor=nope', '/cursor'],
      ['limit=0', '/limit'],
    ]) {
      const res = await api.get(`/v1/journeys/${key}/enrollments?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body, query).toMatchObject({ errors: [{ pointer }] });
    }
  });
});
