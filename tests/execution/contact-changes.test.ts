import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface ContactBody {
  id: string;
  enrollments: { journey: string; status: string; currentStep?: string | null }[];
}

/**
 * A change made outside an identify (tags and lists through the API, a journey step's
 * attributes, tags or lists) reaches journeys at once, as an identify's does: condition
 * triggers enroll, condition goals convert, waits for a condition go on. Before, nothing
 * happened until the contact's next event or the wait's next recheck (hours later).
 */
describe('changes outside an identify reach journeys at once', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function publish(definition: Record<string, unknown>): Promise<void> {
    const res = await api.post('/v1/journeys', definition);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // Changes meant to start a match come after the pass over contacts who matched at publish.
    await eventually(
      async () => {
        const runs = (
          (await api.get(`/v1/journeys/${String(definition.id)}/audience-runs`)).body as {
            data: { status: string }[];
          }
        ).data;
        return runs.length === 0 || runs[0]?.status === 'done';
      },
      20_000,
      'the pass over existing contacts',
    );
  }

  async function contact(userId: string): Promise<string> {
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    return ((await api.get(`/v1/contacts/${userId}`)).body as ContactBody).id;
  }

  const statusIn = async (userId: string, journey: string) =>
    ((await api.get(`/v1/contacts/${userId}`)).body as ContactBody).enrollments.find(
      (e) => e.journey === journey,
    )?.status;

  it('a tag added through the API enrolls the contact in a condition-triggered journey', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `tagged-${s}`,
      name: 'Tagged',
      triggers: [
        { type: 'condition', condition: { type: 'contains', field: 'tags', value: `vip-${s}` } },
      ],
      steps: [{ id: 'hold', type: 'wait', duration: 'P1D' }],
    });
    const userId = `tagged-${s}`;
    const id = await contact(userId);
    expect(await statusIn(userId, `tagged-${s}`)).toBeUndefined();
    expect((await api.post(`/v1/contacts/${id}/tags`, { tags: [`vip-${s}`] })).status).toBe(200);
    // No event follows the tag: the change itself is routed.
    await eventually(
      async () => (await statusIn(userId, `tagged-${s}`)) === 'active',
      20_000,
      'the tagged contact to enter',
    );
  });

  it('stores the change as routed where no journey can care, and keeps it off the timeline', async () => {
    const s = uniqueSuffix();
    // A workspace of its own, with no journeys.
    const quiet = (await createWorkspace(api, `quiet ${s}`)).api;
    const userId = `quiet-${s}`;
    await quiet.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    expect((await quiet.post(`/v1/contacts/${userId}/tags`, { tags: ['vip'] })).status).toBe(200);
    const rows = await engine.deps.sql.query<{ properties: unknown; routed: boolean }>(
      `SELECT e.properties, e.routed_at IS NOT NULL AS routed FROM events e
       JOIN contacts c ON c.id = e.contact_id WHERE c.user_id = $1 AND e.name = '$contact_changed'`,
      [userId],
    );
    expect(rows).toEqual([{ properties: { attributes: ['tags'], source: 'api' }, routed: true }]);
    const timeline = (
      (await quiet.get(`/v1/contacts/${userId}/timeline`)).body as {
        data: { kind: string; detail: { name?: string; attribute?: string } }[];
      }
    ).data;
    expect(
      timeline.filter((i) => i.kind === 'attributeChange').map((i) => i.detail.attribute),
    ).toEqual(['tags']);
    expect(timeline.some((i) => i.detail.name === '$contact_changed')).toBe(false);
  });

  it('joining a list through the API meets a running enrollment’s condition goal', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `member-${s}`,
      name: 'Until a customer',
      triggers: [{ type: 'event', event: `joined_${s}` }],
      goals: [
        {
          id: 'customer',
          type: 'condition',
          condition: { type: 'contains', field: 'lists', value: `customers-${s}` },
        },
      ],
      steps: [{ id: 'hold', type: 'wait', duration: 'P7D' }],
    });
    const userId = `member-${s}`;
    await contact(userId);
    await api.post('/v1/track', { userId, event: `joined_${s}` });
    await eventually(
      async () => (await statusIn(userId, `member-${s}`)) === 'active',
      20_000,
      'the enrollment to start',
    );
    expect((await api.post('/v1/lists', { key: `customers-${s}` })).status).toBe(201);
    const added = await api.post(`/v1/lists/customers-${s}/members`, { contacts: [userId] });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    await eventually(
      async () => (await statusIn(userId, `member-${s}`)) === 'converted',
      20_000,
      'the goal to be met',
    );
  });

  it('a journey step’s attribute change lets another journey’s wait for a condition go on', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `waiting-${s}`,
      name: 'Waits for pro',
      triggers: [{ type: 'event', event: `trial_${s}` }],
      steps: [
        {
          id: 'until-pro',
          type: 'waitForCondition',
          condition: { type: 'equals', field: 'contact.plan_name', value: 'pro' },
          timeout: 'P7D',
          recheckEvery: 'P1D',
          onTimeout: 'gave-up',
          next: 'upgraded',
        },
        { id: 'gave-up', type: 'updateTags', add: [`gave-up-${s}`], next: 'stop' },
        { id: 'stop', type: 'exit', reason: 'never upgraded' },
        { id: 'upgraded', type: 'updateTags', add: [`upgraded-${s}`] },
      ],
    });
    await publish({
      id: `upgrade-${s}`,
      name: 'Upgrade',
      triggers: [{ type: 'event', event: `paid_${s}` }],
      steps: [
        {
          id: 'set-plan',
          type: 'updateContact',
          changes: [{ type: 'set', attribute: 'plan_name', value: 'pro' }],
        },
      ],
    });
    const userId = `upgrader-${s}`;
    await contact(userId);
    await api.post('/v1/track', { userId, event: `trial_${s}` });
    await eventually(
      async () => (await statusIn(userId, `waiting-${s}`)) === 'active',
      20_000,
      'the wait to start',
    );
    await api.post('/v1/track', { userId, event: `paid_${s}` });
    await eventually(
      async () => (await statusIn(userId, `waiting-${s}`)) === 'completed',
      20_000,
      'the wait to see the new plan',
    );
    const tags = ((await api.get(`/v1/contacts/${userId}`)).body as { tags?: string[] }).tags;
    expect(tags).toEqual([`upgraded-${s}`]);
  });
});
