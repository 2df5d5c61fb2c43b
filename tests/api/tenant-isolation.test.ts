import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, listRoutes, type RouteInfo } from '../../api/index.js';
import { isPublicPath } from '../../api/auth/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { createWorkspace, type OtherWorkspace } from './workspaces.js';

/**
 * Workspaces are the tenant boundary. Every route the app has (read from Express's router
 * stack, so routes added later are covered without touching this file) is called with a key of
 * another workspace and every identifier of the first one: each answer must be the very answer
 * a nonexistent id gets, lists must not mention the first workspace, and nothing may change.
 */
describe.each(databaseVariants())('tenant isolation (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let owner: ApiClient;
  let intruder: OtherWorkspace;
  let routes: RouteInfo[];
  const ids: string[] = [];
  let ownerKeyId = '';
  let ownerSourceId = '';
  const s = uniqueSuffix();
  const journeyKey = `iso-journey-${s}`;
  const userId = `iso-user-${s}`;
  const email = `iso-${s}@example.com`;
  const attributeKey = `iso_${s}`;
  const listKey = `iso-list-${s}`;
  let listId = '';
  let importId = '';

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    owner = apiClient(engine);
    intruder = await createWorkspace(owner, `intruder ${s}`);
    routes = listRoutes(
      createApp({ engine: engine.deps, readiness: () => Promise.resolve({}), mailbox: true }),
    );

    await owner.post('/v1/journeys', {
      id: journeyKey,
      name: 'Isolated',
      triggers: [{ type: 'event', event: `iso_${s}` }],
      steps: [{ id: 'w', type: 'sendEmail', template: 'welcome' }],
    });
    await owner.post('/v1/identify', { userId, traits: { email, firstName: 'Iso' } });
    await owner.post('/v1/track', { userId, event: `iso_${s}` });
    const contact = (await owner.get(`/v1/contacts/${userId}`)).body as { id: string };
    const key = (await owner.post('/v1/api-keys', { name: `iso ${s}`, scope: 'write' })).body as {
      id: string;
    };
    const source = (
      await owner.post('/v1/webhook-sources', {
        name: `iso ${s}`,
        verification: 'hmac-sha256',
        mapping: { event: '/e', userId: '/u' },
      })
    ).body as { id: string };
    // Contact data: a declared attribute, a tag, a list with the contact on it.
    await owner.request('PUT', `/v1/attributes/${attributeKey}`, {
      body: JSON.stringify({ type: 'text' }),
      headers: { 'content-type': 'application/json' },
    });
    await owner.post(`/v1/contacts/${contact.id}/tags`, { tags: [listKey] });
    const list = (await owner.post('/v1/lists', { key: listKey })).body as { id: string };
    await owner.post(`/v1/lists/${list.id}/members`, { contacts: [userId] });
    listId = list.id;
    // A background CSV import, finished so its snapshot below cannot change on its own.
    const started = await owner.request('POST', '/v1/contacts/import', {
      body: `email,firstName\nimport-${s}@example.com,Iso`,
      headers: { 'content-type': 'text/csv', prefer: 'respond-async' },
    });
    importId = ((await started.json()) as { id: string }).id;
    await eventually(
      async () =>
        ((await owner.get(`/v1/imports/${importId}`)).body as { status: string }).status === 'done',
      30_000,
      'the import to finish',
    );
    const enrollment = await eventually(
      // Finished, so the snapshots below cannot change on their own.
      () =>
        engine.deps.prisma.enrollment.findFirst({
          where: { contactId: contact.id, status: 'completed' },
        }),
      30_000,
      'the enrollment to complete',
    );
    const event = await engine.deps.prisma.event.findFirstOrThrow({ where: { userId } });
    const mail = await eventually(
      () => engine.deps.prisma.capturedMail.findFirst({ where: { to: { has: email } } }),
      20_000,
      'the welcome email',
    );
    ownerKeyId = key.id;
    ownerSourceId = source.id;
    ids.push(
      journeyKey,
      userId,
      email,
      contact.id,
      key.id,
      source.id,
      enrollment.id,
      event.id,
      mail.id,
      'default',
      attributeKey,
      listKey,
      listId,
      importId,
    );
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  const snapshot = async () =>
    // `lastUsedAt` moves whenever the owner's own key is used (to take the snapshot itself).
    JSON.stringify(
      await Promise.all(
        [
          `/v1/journeys/${journeyKey}`,
          `/v1/contacts/${userId}`,
          // Single rows, not lists: other test files add to the shared default workspace.
          `/v1/api-keys/${ownerKeyId}`,
          `/v1/webhook-sources/${ownerSourceId}`,
          `/v1/workspaces/default`,
          `/v1/attributes/${attributeKey}`,
          `/v1/lists/${listId}`,
          `/v1/imports/${importId}`,
        ].map(async (p) => (await owner.get(p)).body),
      ),
      (key, value: unknown) => (key === 'lastUsedAt' ? undefined : value),
    );

  const call = (route: RouteInfo, path: string) =>
    route.method === 'GET' || route.method === 'DELETE'
      ? intruder.api.request(route.method, path)
      : intruder.api.request(route.method, path, {
          body: JSON.stringify({ name: 'x', scope: 'admin', userId: 'x', event: 'x' }),
          headers: { 'content-type': 'application/json' },
        });

  const normalised = (text: string, ...tokens: string[]) => {
    let out = text.replace(/"requestId":"[^"]*"/g, '');
    for (const token of tokens) {
      out = out.split(token).join('<id>').split(encodeURIComponent(token)).join('<id>');
    }
    return out;
  };

  it('answers every route with a parameter exactly as for an id that does not exist', async () => {
    const before = await snapshot();
    const checked: string[] = [];
    const serverErrors = new Set<string>();
    for (const route of routes) {
      if (!route.path.includes(':') || isPublicPath(route.path.replace(/:[^/]+/g, 'x'))) continue;
      for (const id of ids) {
        const missing = `missing-${uniqueSuffix()}`;
        const fill = (value: string) =>
          route.path.replace(/:[A-Za-z0-9_]+/g, encodeURIComponent(value));
        const real = await call(route, fill(id));
        const fake = await call(route, fill(missing));
        const what = `${route.method} ${route.path} with ${id}`;
        expect(real.status, what).toBe(fake.status);
        // A 5xx is the same for both (so nothing leaks) but is a bug of that route: make it seen.
        if (real.status >= 500) serverErrors.add(`${route.method} ${route.path}`);
        expect(real.status, what).toBeGreaterThanOrEqual(400);
        expect(normalised(await real.text(), id), what).toBe(
          normalised(await fake.text(), missing),
        );
      }
      checked.push(`${route.method} ${route.path}`);
    }
    expect(checked.length).toBeGreaterThanOrEqual(8);
    if (serverErrors.size > 0)
      console.warn(
        `[tenant isolation] routes answering 5xx to unknown ids: ${[...serverErrors].join(', ')}`,
      );
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
  });

  it('never mentions the other workspace in answers to routes without parameters', async () => {
    const before = await snapshot();
    for (const route of routes) {
      if (route.path.includes(':') || isPublicPath(route.path)) continue;
      const res = await call(route, route.path);
      const text = await res.text();
      for (const id of ids.filter((i) => i !== 'default'))
        expect(text, `${route.method} ${route.path} leaks ${id}`).not.toContain(id);
    }
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
  });
});
