import { once } from 'node:events';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/index.js';
import { hashKey, KeyStore } from '../../api/auth/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { refusingInserts } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { clientWith, createWorkspace } from './workspaces.js';

describe.each(databaseVariants())('API keys (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('refuses requests without a valid key with 401 problem+json, and keeps public paths open', async () => {
    const anonymous = clientWith(api, {});
    const none = await anonymous.get('/v1/journeys');
    expect(none.status).toBe(401);
    expect(none.contentType).toMatch(/problem\+json/);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(
      (await clientWith(api, { authorization: 'Bearer dbk_admin_nope' }).get('/v1/journeys'))
        .status,
    ).toBe(401);
    expect((await anonymous.get('/healthz')).status).toBe(200);
    expect((await anonymous.get('/readyz')).status).toBe(200);
    expect((await anonymous.get('/metrics')).status).toBe(200);
    expect((await anonymous.get('/v1/openapi.json')).status).toBe(200);
  });

  it('shows a key once, stores only its hash, and revokes it at once', async () => {
    const created = await api.post('/v1/api-keys', {
      name: `ci ${uniqueSuffix()}`,
      scope: 'write',
    });
    expect(created.status).toBe(201);
    const { id, key } = created.body as { id: string; key: string };
    expect(key).toMatch(/^dbk_write_/);
    const row = await engine.deps.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.hash).toBe(hashKey(key));
    expect(JSON.stringify(row)).not.toContain(key);
    const listed = await api.get('/v1/api-keys?limit=200');
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(JSON.stringify(listed.body)).toContain(id);

    const writer = clientWith(api, { authorization: `Bearer ${key}` });
    expect((await writer.get('/v1/journeys')).status).toBe(200);
    expect((await writer.get('/v1/api-keys')).status).toBe(403);
    // The routers match any case of a path: so does the scope check.
    const escalate = await writer.post('/V1/API-KEYS', { name: 'x', scope: 'admin' });
    expect(escalate.status).toBe(403);
    expect((await writer.request('DELETE', `/V1/Api-Keys/${id}`)).status).toBe(403);
    expect((await writer.get('/V1/webhook-sources')).status).toBe(403);
    expect((await api.request('DELETE', `/v1/api-keys/${id}`)).status).toBe(200);
    expect((await writer.get('/v1/journeys')).status).toBe(401);
  });

  it('does not keep a key it read while the key was being revoked', async () => {
    const created = await api.post('/v1/api-keys', {
      name: `racing ${uniqueSuffix()}`,
      scope: 'write',
    });
    const { id, key } = created.body as { id: string; key: string };
    // The lookup reads the key's row, and its answer comes only after the revocation.
    const prisma = engine.deps.prisma;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const slow = new Proxy(prisma, {
      get: (target, name) =>
        name === 'apiKey'
          ? new Proxy(prisma.apiKey, {
              get: (keys, method) =>
                method === 'findUnique'
                  ? async (args: Parameters<typeof prisma.apiKey.findUnique>[0]) => {
                      const row = await prisma.apiKey.findUnique(args);
                      if (reads++ === 0) await held;
                      return row;
                    }
                  : (Reflect.get(keys, method, keys) as unknown),
            })
          : (Reflect.get(target, name, target) as unknown),
    });
    const store = new KeyStore(slow);
    const lookup = store.resolve(key);
    await eventually(() => reads === 1, 5_000, 'the lookup to read the row');
    await prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    store.forget(id);
    release();
    expect(await lookup).toBeNull();
    expect(await store.resolve(key)).toBeNull();
  });

  it('lets an ingest key send events (Bearer or Segment-style Basic auth) and nothing else', async () => {
    const { key } = (await api.post('/v1/api-keys', { name: 'site', scope: 'ingest' })).body as {
      key: string;
    };
    const basic = clientWith(api, {
      authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
    });
    const userId = `u-${uniqueSuffix()}`;
    expect((await basic.post('/v1/track', { userId, event: 'visited' })).status).toBe(200);
    const bearer = clientWith(api, { authorization: `Bearer ${key}` });
    expect((await bearer.post('/v1/identify', { userId, traits: { plan: 'pro' } })).status).toBe(
      200,
    );
    expect((await bearer.get(`/v1/contacts/${userId}`)).status).toBe(403);
    expect((await bearer.post('/v1/journeys/validate', {})).status).toBe(403);

    // It reads nothing through the answers either: whether an address belongs to someone
    // (email-taken), the contact's id, the journeys it entered.
    const held = `held.${uniqueSuffix()}@example.com`;
    await api.post('/v1/identify', { userId: `owner-${uniqueSuffix()}`, traits: { email: held } });
    const probe = await bearer.post('/v1/identify', {
      userId: `probe-${uniqueSuffix()}`,
      traits: { email: held },
    });
    expect(probe.status).toBe(200);
    expect(Object.keys(probe.body as object).sort()).toEqual(['eventId', 'stored', 'success']);
    const asWriter = await api.post('/v1/identify', {
      userId: `probe-${uniqueSuffix()}`,
      traits: { email: held },
    });
    expect(asWriter.body).toMatchObject({ warning: 'email-taken' });
    const batched = await bearer.post('/v1/batch', {
      batch: [{ type: 'identify', userId: `probe-${uniqueSuffix()}`, traits: { email: held } }],
    });
    expect(batched.body).toMatchObject({ success: true, accepted: 1 });
    expect(JSON.stringify(batched.body)).not.toContain('email-taken');
    const tracked = await bearer.post('/v1/track', { userId, event: 'visited' });
    expect(Object.keys(tracked.body as object).sort()).toEqual(['eventId', 'stored', 'success']);

    const ingestKeys = (await api.get('/v1/api-keys?scope=ingest&revoked=false&limit=200'))
      .body as {
      data: { scope: string; revokedAt: string | null }[];
    };
    expect(ingestKeys.data.length).toBeGreaterThan(0);
    expect(ingestKeys.data.every((k) => k.scope === 'ingest' && k.revokedAt === null)).toBe(true);
    expect((await api.get('/v1/api-keys?scope=root')).status).toBe(422);
    // `revoked=true` lists the revoked keys only; a value other than true or false is refused.
    const spare = (await api.post('/v1/api-keys', { name: 'spare', scope: 'ingest' })).body as {
      id: string;
    };
    expect((await api.request('DELETE', `/v1/api-keys/${spare.id}`)).status).toBe(200);
    const revoked = (await api.get('/v1/api-keys?revoked=true&limit=200')).body as {
      data: { id: string; revokedAt: string | null }[];
    };
    expect(revoked.data.map((k) => k.id)).toContain(spare.id);
    expect(revoked.data.every((k) => k.revokedAt !== null)).toBe(true);
    expect((await api.get('/v1/api-keys?revoked=yes')).status).toBe(422);
  });

  it('gives every workspace its own data: an event sent with one key is invisible to another', async () => {
    const other = await createWorkspace(api, `other ${uniqueSuffix()}`);
    const userId = `iso-${uniqueSuffix()}`;
    expect(
      (await other.api.post('/v1/identify', { userId, traits: { firstName: 'Mo' } })).status,
    ).toBe(200);
    expect((await other.api.get(`/v1/contacts/${userId}`)).status).toBe(200);
    expect((await api.get(`/v1/contacts/${userId}`)).status).toBe(404);
    // Only the operator (the default workspace) creates workspaces.
    expect((await other.api.post('/v1/workspaces', { name: 'nested' })).status).toBe(403);
  });

  it('creates a workspace with its admin key or not at all', async () => {
    const name = `doomed ${uniqueSuffix()}`;
    // The database refuses this workspace's key (a fault only it meets).
    await refusingInserts(
      engine.deps.sql,
      'api_keys',
      `(SELECT name FROM workspaces WHERE id = NEW.workspace_id) = '${name}'`,
      async () => expect((await api.post('/v1/workspaces', { name })).status).toBe(500),
    );
    // No workspace that no key can reach is left behind; the retry makes one, with its key.
    expect(await engine.deps.prisma.workspace.count({ where: { name } })).toBe(0);
    const retried = await api.post('/v1/workspaces', { name });
    expect(retried.status).toBe(201);
    expect(await engine.deps.prisma.workspace.count({ where: { name } })).toBe(1);
  });

  it('sets security headers and a request id on every answer', async () => {
    const res = await api.request('GET', '/v1/journeys', {
      headers: { 'x-request-id': 'trace-123' },
    });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-powered-by')).toBeNull();
    const generated = await api.request('GET', '/v1/nothing', {
      headers: { 'x-request-id': 'bad id\u00e9' },
    });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await generated.json()) as { requestId: string }).requestId).toBe(
      generated.headers.get('x-request-id'),
    );
  });

  it('answers 429 with Retry-After once a key has used up its bucket', async () => {
    const app = createApp({
      engine: engine.deps,
      readiness: () => Promise.resolve({}),
      mailbox: false,
      rateLimit: { perSecond: 1, burst: 3 },
    });
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const limited = apiClient({
        apiUrl: `http://127.0.0.1:${port}`,
        apiHeaders: engine.apiHeaders,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.get('/v1/journeys')).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      const refused = await limited.get('/v1/journeys');
      expect(refused.status).toBe(429);
      expect(refused.contentType).toMatch(/problem\+json/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
