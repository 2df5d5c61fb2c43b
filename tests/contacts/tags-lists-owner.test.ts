import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { refusingInserts } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { expectProblem, send } from './support.js';

interface Contact {
  id: string;
  userId: string | null;
  ownerId: string | null;
  tags?: string[];
  lists: string[];
}

interface Timeline {
  data: {
    kind: string;
    detail: { attribute?: string; from?: unknown; to?: unknown; source?: string };
  }[];
}

const changesOf = async (api: ApiClient, contact: string, attribute: string) =>
  ((await api.get(`/v1/contacts/${contact}/timeline?limit=200`)).body as Timeline).data
    .filter((i) => i.kind === 'attributeChange' && i.detail.attribute === attribute)
    .map((i) => i.detail);

describe.each(databaseVariants())('tags, lists and owner (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let operator: ApiClient;
  let api: ApiClient;
  let workspaceId: string;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    operator = apiClient(engine);
    // A workspace of its own: on PostgreSQL the database is shared by the run's test files.
    const workspace = await createWorkspace(operator, `tags ${uniqueSuffix()}`);
    api = workspace.api;
    workspaceId = workspace.id;
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function contact(s: string, traits: Record<string, unknown> = {}): Promise<Contact> {
    const userId = `c-${s}-${uniqueSuffix()}`;
    await api.post('/v1/identify', {
      userId,
      traits: { email: `${userId}@example.com`, ...traits },
    });
    return (await api.get(`/v1/contacts/${userId}`)).body as Contact;
  }

  /**
   * Waits for the pass over existing contacts that publishing a journey starts. A contact who
   * matches a condition trigger when that pass reaches it has "matched already" and does not
   * enter on its next event; so contacts meant to start matching are changed after the pass.
   */
  async function publishPassDone(journey: string): Promise<void> {
    await eventually(
      async () => {
        const runs = (
          (await api.get(`/v1/journeys/${journey}/audience-runs`)).body as {
            data: { status: string }[];
          }
        ).data;
        return runs[0]?.status === 'done';
      },
      20_000,
      'the pass over existing contacts',
    );
  }

  it('sets the owner to a user of the same workspace, and tasks for the contact owner go to them', async () => {
    const s = uniqueSuffix();
    const rep = (await api.post('/v1/users', { email: `rep.${s}@example.com`, name: 'Rep' }))
      .body as { id: string };
    const other = await createWorkspace(operator, `owner ${s}`);
    const stranger = (
      await other.api.post('/v1/users', { email: `stranger.${s}@example.com`, name: 'Stranger' })
    ).body as { id: string };
    const lead = await contact(s);

    expectProblem(await send(api, 'PATCH', `/v1/contacts/${lead.id}`, { ownerId: stranger.id }), [
      '/ownerId',
    ]);
    expectProblem(await send(api, 'PATCH', `/v1/contacts/${lead.id}`, { ownerId: 'nobody' }), [
      '/ownerId',
    ]);
    // A bad owner refuses the whole update: the attribute beside it is not written either.
    expectProblem(
      await send(api, 'PATCH', `/v1/contacts/${lead.id}`, {
        ownerId: 'nobody',
        attributes: { note: 'x' },
      }),
      ['/ownerId'],
    );
    const unchanged = (await api.get(`/v1/contacts/${lead.id}`)).body as Contact & {
      note?: string;
    };
    expect(unchanged.ownerId).toBeNull();
    expect(unchanged.note).toBeUndefined();

    const owned = await send(api, 'PATCH', `/v1/contacts/${lead.id}`, { ownerId: rep.id });
    expect(owned.status).toBe(200);
    expect((owned.body as Contact).ownerId).toBe(rep.id);
    expect(await changesOf(api, lead.id, 'ownerId')).toEqual([
      { attribute: 'ownerId', from: null, to: rep.id, source: 'api' },
    ]);

    // A task for the contact owner, by API and from a journey step, goes to the rep.
    const task = await api.post('/v1/tasks', {
      title: 'Call',
      contactId: lead.id,
      assignee: { type: 'owner' },
    });
    expect((task.body as { assigneeId: string | null }).assigneeId).toBe(rep.id);
    const event = `handoff_${s}`;
    const journey = await api.post('/v1/journeys', {
      id: `owner-${s}`,
      name: 'Owner hand-off',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'call', type: 'createTask', title: 'Call back', assignee: { type: 'owner' } }],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    await api.post('/v1/track', { userId: lead.userId, event });
    const fromJourney = await eventually(
      () =>
        engine.deps.prisma.task.findFirst({ where: { contactId: lead.id, title: 'Call back' } }),
      20_000,
      'the journey task',
    );
    expect(fromJourney.assigneeId).toBe(rep.id);

    // Created with an owner; then nobody.
    const created = await api.post('/v1/contacts', {
      userId: `owned-${s}`,
      ownerId: rep.id,
    });
    expect(created.status).toBe(201);
    expect((created.body as Contact).ownerId).toBe(rep.id);
    expectProblem(await api.post('/v1/contacts', { userId: `x-${s}`, ownerId: stranger.id }), [
      '/ownerId',
    ]);
    expect((await api.get(`/v1/contacts/x-${s}`)).status).toBe(404);
    const cleared = await send(api, 'PATCH', `/v1/contacts/owned-${s}`, { ownerId: null });
    expect((cleared.body as Contact).ownerId).toBeNull();
  });

  it('refuses scores, unsubscribed, ownerId and lists as attributes: each has its own checked path', async () => {
    const c = await contact('managed');
    const refused: [string, unknown][] = [
      ['scores', { lead: 60 }],
      ['scores', null],
      ['unsubscribed', false],
      ['ownerId', 'no-such-user'],
      ['lists', ['vip']],
    ];
    for (const [key, value] of refused) {
      const identified = await api.post('/v1/identify', {
        userId: c.userId,
        traits: { [key]: value, plan: 'pro' },
      });
      expectProblem(identified, [`/traits/${key}`]);
      const patched = await send(api, 'PATCH', `/v1/contacts/${c.id}`, {
        attributes: { [key]: value, plan: 'pro' },
      });
      expectProblem(patched, [`/attributes/${key}`]);
    }
    // Nothing of a refused request was written, the other attribute included.
    const after = (await api.get(`/v1/contacts/${c.id}`)).body as Contact;
    expect(after.ownerId).toBeNull();
    expect(after.lists).toEqual([]);
    expect(after).not.toHaveProperty('scores');
    expect(after).not.toHaveProperty('unsubscribed');
    expect(after).not.toHaveProperty('plan');
  });
  it('creates a contact with its owner when routing its identify fails, and leaves the routing to the sweep', async () => {
    const s = uniqueSuffix();
    const rep = (await api.post('/v1/users', { email: `rep3.${s}@example.com`, name: 'Rep' }))
      .body as { id: string };
    // A journey the new contact enters at once, whose enrollment the database refuses (a fault
    // only this workspace meets): routing the contact's identify fails.
    const journey = await api.post('/v1/journeys', {
      id: `gold-${s}`,
      name: 'Gold',
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `gold-${s}` },
        },
      ],
      steps: [{ id: 'hold', type: 'wait', duration: 'P1D' }],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    // The pass over existing contacts is over, so the new contact starts to match and enters.
    await publishPassDone(`gold-${s}`);
    const { sql } = engine.deps;
    const created = await refusingInserts(
      sql,
      'enrollments',
      `NEW.workspace_id = '${workspaceId}'`,
      () =>
        api.post('/v1/contacts', {
          userId: `gold-${s}`,
          ownerId: rep.id,
          attributes: { tier: `gold-${s}` },
        }),
    );
    // Stored with its owner: a retry would meet it (409) and could not set the owner any more.
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ userId: `gold-${s}`, ownerId: rep.id });
    const [identify] = await sql.query<{ routed_at: Date | null }>(
      `SELECT e.routed_at FROM events e JOIN contacts c ON c.id = e.contact_id
       WHERE c.workspace_id = $1 AND c.user_id = $2 AND e.type = 'identify'`,
      [workspaceId, `gold-${s}`],
    );
    expect(identify, 'the identify is stored, unrouted, for the routing sweep').toMatchObject({
      routed_at: null,
    });
    // Its routing failed at the enrollment: none was stored.
    expect(
      ((await api.get(`/v1/contacts/gold-${s}`)).body as { enrollments: unknown[] }).enrollments,
    ).toEqual([]);
  });

  it('shows the same owner in the contacts list as in the contact, and filters by it', async () => {
    const s = uniqueSuffix();
    const rep = (await api.post('/v1/users', { email: `rep2.${s}@example.com`, name: 'Rep' }))
      .body as { id: string };
    const other = (await api.post('/v1/users', { email: `other.${s}@example.com`, name: 'O' }))
      .body as { id: string };
    const tag = `owned-${s}`;
    // An `ownerId` attribute from before the column, the column, both (the column wins), none.
    // The attribute is written straight to the row: the API refuses it as an attribute now.
    const withOwnerAttribute = async (ownerId: string) => {
      const made = await contact(s, { tags: [tag] });
      const row = await engine.deps.prisma.contact.findUniqueOrThrow({ where: { id: made.id } });
      const attributes = row.attributes as Record<string, unknown>;
      await engine.deps.prisma.contact.update({
        where: { id: made.id },
        data: { attributes: { ...attributes, ownerId } },
      });
      return made;
    };
    const legacy = await withOwnerAttribute(rep.id);
    const column = await contact(s, { tags: [tag] });
    const both = await withOwnerAttribute(other.id);
    const nobody = await contact(s, { tags: [tag] });
    for (const c of [column, both])
      expect((await send(api, 'PATCH', `/v1/contacts/${c.id}`, { ownerId: rep.id })).status).toBe(
        200,
      );

    const listed = ((await api.get(`/v1/contacts?tag=${tag}`)).body as { data: Contact[] }).data;
    const owners = Object.fromEntries(listed.map((c) => [c.id, c.ownerId]));
    expect(owners).toEqual({
      [legacy.id]: rep.id,
      [column.id]: rep.id,
      [both.id]: rep.id,
      [nobody.id]: null,
    });
    for (const c of [legacy, column, both, nobody])
      expect(((await api.get(`/v1/contacts/${c.id}`)).body as Contact).ownerId).toBe(owners[c.id]);

    const byOwner = async (ownerId: string) =>
      (
        (await api.get(`/v1/contacts?tag=${tag}&ownerId=${ownerId}`)).body as { data: Contact[] }
      ).data
        .map((c) => c.id)
        .sort();
    expect(await byOwner(rep.id)).toEqual([legacy.id, column.id, both.id].sort());
    expect(await byOwner(other.id)).toEqual([]);
    // Setting no owner clears the attribute from before the column too: nobody owns it then.
    expect((await send(api, 'PATCH', `/v1/contacts/${legacy.id}`, { ownerId: null })).status).toBe(
      200,
    );
    expect(((await api.get(`/v1/contacts/${legacy.id}`)).body as Contact).ownerId).toBeNull();
  });

  it('adds and removes tags, records each change, filters contacts by tag, and conditions see them', async () => {
    const s = uniqueSuffix();
    const vip = `vip-${s}`;
    const ada = await contact(s, { tags: ['early'] });
    const grace = await contact(s);
    await contact(s, { tags: ['early'] });

    // Bad input: answered 4xx with pointers, nothing changes.
    const tagsUrl = `/v1/contacts/${ada.id}/tags`;
    expectProblem(await api.post(tagsUrl, { tags: [] }), ['/tags']);
    expectProblem(await api.post(tagsUrl, { tags: ['ok', '   '] }), ['/tags/1']);
    expectProblem(await api.post(tagsUrl, { tags: 'vip' }), ['/tags']);
    expectProblem(await api.post(tagsUrl, { tags: ['x'.repeat(101)] }), ['/tags/0']);
    expect((await api.post(`/v1/contacts/nobody-${s}/tags`, { tags: [vip] })).status).toBe(404);
    expect(await changesOf(api, ada.id, 'tags')).toEqual([]);
    expect(((await api.get(`/v1/contacts/${ada.id}`)).body as Contact).tags).toEqual(['early']);

    const added = await api.post(tagsUrl, { tags: [vip, ' beta ', vip] });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ tags: ['early', vip, 'beta'], changed: true });
    // Adding what is there already changes nothing and records nothing.
    expect((await api.post(tagsUrl, { tags: ['beta'] })).body).toMatchObject({ changed: false });
    // By user id too; concurrent additions all land.
    await Promise.all(
      ['t1', 't2', 't3', 't4', 't5'].map((t) =>
        api.post(`/v1/contacts/${grace.userId ?? ''}/tags`, { tags: [t, vip] }),
      ),
    );
    const graceTags = ((await api.get(`/v1/contacts/${grace.id}`)).body as Contact).tags ?? [];
    expect([...graceTags].sort()).toEqual(['t1', 't2', 't3', 't4', 't5', vip].sort());
    expect(await changesOf(api, grace.id, 'tags')).toHaveLength(5);

    const removed = await api.request('DELETE', `${tagsUrl}/beta`);
    expect(await removed.json()).toMatchObject({ tags: ['early', vip], changed: true });
    const again = await api.request('DELETE', `${tagsUrl}/beta`);
    expect(await again.json()).toMatchObject({ tags: ['early', vip], changed: false });
    expect(await changesOf(api, ada.id, 'tags')).toEqual([
      { attribute: 'tags', from: ['early', vip, 'beta'], to: ['early', vip], source: 'api' },
      { attribute: 'tags', from: ['early'], to: ['early', vip, 'beta'], source: 'api' },
    ]);

    // The filter, paged one by one.
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = (await api.get(`/v1/contacts?tag=${vip}&limit=1${query}`)).body as {
        data: Contact[];
        nextCursor: string | null;
      };
      ids.push(...page.data.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids.sort()).toEqual([ada.id, grace.id].sort());
    expectProblem(await api.get('/v1/contacts?tag='), ['/tag']);

    // Journey conditions read the same tags.
    const journey = await api.post('/v1/journeys', {
      id: `tagged-${s}`,
      name: 'Tagged',
      triggers: [{ type: 'condition', condition: { type: 'contains', field: 'tags', value: vip } }],
      steps: [{ id: 'hold', type: 'wait', duration: 'P1D' }],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    await publishPassDone(`tagged-${s}`);
    // Tagged after the journey went live: the contact starts to match and enters.
    const late = await contact(s);
    expect((await api.post(`/v1/contacts/${late.id}/tags`, { tags: [vip] })).status).toBe(200);
    await api.post('/v1/track', { userId: late.userId, event: `seen_${s}` });
    await eventually(
      async () =>
        ((await api.get(`/v1/contacts/${late.id}`)).body as { enrollments: unknown[] }).enrollments
          .length === 1,
      20_000,
      'the tagged contact to enter the journey',
    );
  });

  it("adds a request's list members all or none: a failure part-way adds nobody", async () => {
    const s = uniqueSuffix();
    const key = `half-${s}`;
    const [first, second] = [await contact(s), await contact(s)];
    expect((await api.post('/v1/lists', { key, name: 'Half' })).status).toBe(201);
    // The database refuses the second contact's membership (a fault only it meets).
    await refusingInserts(
      engine.deps.sql,
      'list_memberships',
      `NEW.contact_id = '${second.id}'`,
      async () => {
        const failed = await api.post(`/v1/lists/${key}/members`, {
          contacts: [first.id, second.id].sort(),
        });
        expect(failed.status).toBe(500);
      },
    );
    expect((await api.get(`/v1/lists/${key}`)).body).toMatchObject({ members: 0 });
    expect(await changesOf(api, first.id, 'lists')).toEqual([]);
    // The retry adds both.
    const retried = await api.post(`/v1/lists/${key}/members`, { contacts: [first.id, second.id] });
    expect(retried.body).toMatchObject({ added: 2, alreadyMembers: 0 });
  });

  it('keeps static lists: members by id, user id or email, on the timeline, read by conditions and journey steps', async () => {
    const s = uniqueSuffix();
    const key = `customers-${s}`;
    const ada = await contact(s);
    const grace = await contact(s);
    const alan = await contact(s);

    // Bad input: problems with pointers, nothing stored.
    expectProblem(await api.post('/v1/lists', { key: ' padded ' }), ['/key']);
    expectProblem(await api.post('/v1/lists', { name: 'No key' }), ['/key']);
    const created = await api.post('/v1/lists', { key, name: 'Customers' });
    expect(created.status).toBe(201);
    const list = created.body as { id: string; key: string; members: number };
    expect(list).toMatchObject({ key, members: 0 });
    expect((await api.post('/v1/lists', { key })).status).toBe(409);
    const members = `/v1/lists/${list.id}/members`;
    const refused = await api.post(members, {
      contacts: [ada.id, `nobody-${s}`, `${grace.userId ?? ''}@example.com`, 'ghost@example.com'],
    });
    expectProblem(refused, ['/contacts/1', '/contacts/3']);
    expectProblem(await api.post(members, { contacts: [] }), ['/contacts']);
    expect((await api.post(`/v1/lists/missing-${s}/members`, { contacts: [ada.id] })).status).toBe(
      404,
    );
    expect((await api.get(`/v1/lists/${list.id}`)).body).toMatchObject({ members: 0 });
    expect(await changesOf(api, ada.id, 'lists')).toEqual([]);

    // By id, user id and email (any case); twice is once.
    const added = await api.post(`/v1/lists/${key}/members`, {
      contacts: [ada.id, grace.userId, `${alan.userId ?? ''}@EXAMPLE.com`, ada.id],
    });
    expect(added.body).toMatchObject({ added: 3, alreadyMembers: 0 });
    expect((await api.post(members, { contacts: [ada.id] })).body).toMatchObject({
      added: 0,
      alreadyMembers: 1,
    });
    expect((await api.get(`/v1/contacts/${ada.id}`)).body).toMatchObject({ lists: [key] });
    expect(await changesOf(api, ada.id, 'lists')).toEqual([
      { attribute: 'lists', from: [], to: [key], source: 'api' },
    ]);
    const page = (await api.get(`${members}?limit=2`)).body as {
      data: { contactId: string }[];
      nextCursor: string | null;
    };
    const rest = (await api.get(`${members}?limit=2&cursor=${page.nextCursor ?? ''}`)).body as {
      data: { contactId: string }[];
    };
    expect([...page.data, ...rest.data].map((m) => m.contactId).sort()).toEqual(
      [ada.id, grace.id, alan.id].sort(),
    );
    const filtered = (await api.get(`/v1/contacts?list=${key}`)).body as { data: Contact[] };
    expect(filtered.data.map((c) => c.id).sort()).toEqual([ada.id, grace.id, alan.id].sort());

    // Conditions read the lists: a condition-triggered journey takes list members only.
    const journey = await api.post('/v1/journeys', {
      id: `listed-${s}`,
      name: 'Listed',
      triggers: [
        { type: 'condition', condition: { type: 'contains', field: 'lists', value: key } },
      ],
      steps: [
        { id: 'hold', type: 'wait', duration: 'PT1S' },
        { id: 'leave', type: 'updateLists', remove: [key], add: [`alumni-${s}`] },
      ],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    await publishPassDone(`listed-${s}`);
    // Added after the journey went live: Dora starts to match; the outsider never does.
    const dora = await contact(s);
    const outsider = await contact(s);
    expect((await api.post(members, { contacts: [dora.id] })).body).toMatchObject({ added: 1 });
    await api.post('/v1/track', { userId: dora.userId, event: `seen_${s}` });
    await api.post('/v1/track', { userId: outsider.userId, event: `seen_${s}` });
    // The journey's updateLists step moves Dora to a list it creates, through the same tables.
    const moved = await eventually(
      async () => {
        const body = (await api.get(`/v1/contacts/${dora.id}`)).body as Contact;
        return body.lists.includes(`alumni-${s}`) ? body : undefined;
      },
      30_000,
      'the journey to move the contact between lists',
    );
    expect(moved.lists).toEqual([`alumni-${s}`]);
    expect((await api.get(`/v1/lists/alumni-${s}`)).body).toMatchObject({ members: 1 });
    expect((await api.get(`/v1/lists/${key}`)).body).toMatchObject({ members: 3 });
    expect(
      ((await api.get(`/v1/contacts/${outsider.id}`)).body as { enrollments: unknown[] })
        .enrollments,
    ).toEqual([]);

    // Removing by email, then deleting the list: the members lose it.
    const removed = await api.request(
      'DELETE',
      `${members}/${encodeURIComponent(`${grace.userId ?? ''}@example.com`)}`,
    );
    expect(await removed.json()).toMatchObject({ removed: true, contactId: grace.id });
    expect(((await api.get(`/v1/contacts/${grace.id}`)).body as Contact).lists).toEqual([]);
    expect((await api.request('DELETE', `${members}/nobody-${s}`)).status).toBe(404);
    const deleted = await api.request('DELETE', `/v1/lists/${list.id}`);
    expect(await deleted.json()).toMatchObject({ deleted: true, members: 2 });
    for (const c of [ada, alan])
      expect(((await api.get(`/v1/contacts/${c.id}`)).body as Contact).lists).toEqual([]);
    expect(await changesOf(api, alan.id, 'lists')).toHaveLength(2);
    expect((await api.get(`/v1/lists/${list.id}`)).status).toBe(404);
  }, 60_000);
});
