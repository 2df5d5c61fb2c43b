import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { clientWith } from './workspaces.js';

describe.each(databaseVariants())('Idempotency-Key (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('replays the first response for a repeat, and creates nothing twice', async () => {
    const key = `idem-${uniqueSuffix()}`;
    const body = { name: `deploy bot ${key}`, scope: 'write' };
    const first = await api.post('/v1/api-keys', body, { 'idempotency-key': key });
    const again = await api.post('/v1/api-keys', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // The same key, but its secret is shown once: it is not kept in plain text for replays.
    const secret = (first.body as { key: string }).key;
    expect(secret).toMatch(/\S{20,}/);
    expect(again.body).toEqual({ ...(first.body as object), key: null });
    const stored = await engine.deps.sql.query<{ body: unknown }>(
      `SELECT body FROM idempotency_records WHERE body::text LIKE '%' || $1 || '%'`,
      [secret],
    );
    expect(stored).toEqual([]);
    expect(await engine.deps.prisma.apiKey.count({ where: { name: body.name } })).toBe(1);
  });

  it('keeps a request to a very long path, which overflowed the index of its record', async () => {
    // A user id is data: a 3,000-character one made the record's key too long to index (500).
    const key = `idem-${uniqueSuffix()}`;
    // Random, so PostgreSQL cannot compress it under the index's limit.
    const path = `/v1/contacts/${randomBytes(1_500).toString('hex')}/tags`;
    const first = await api.post(path, { tags: ['vip'] }, { 'idempotency-key': key });
    const again = await api.post(path, { tags: ['vip'] }, { 'idempotency-key': key });
    expect(first.status, JSON.stringify(first.body)).toBeLessThan(500);
    expect(again.status).toBe(first.status);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses the same key with a different body', async () => {
    const key = `idem-${uniqueSuffix()}`;
    expect(
      (await api.post('/v1/api-keys', { name: 'a', scope: 'write' }, { 'idempotency-key': key }))
        .status,
    ).toBe(201);
    const other = await api.post(
      '/v1/api-keys',
      { name: 'b', scope: 'write' },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({
      type: 'https://drumbeat.dev/problems/idempotency-key-reused',
    });
  });

  it('keeps keys apart per route, and answers concurrent repeats with one creation', async () => {
    const key = `idem-${uniqueSuffix()}`;
    const journey = {
      id: `idem-${uniqueSuffix()}`,
      name: 'Idempotent',
      triggers: [{ type: 'event', event: 'x' }],
      steps: [{ id: 'w', type: 'sendEmail', template: 'welcome' }],
    };
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.post('/v1/journeys', journey, { 'idempotency-key': key }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect((await api.get(`/v1/journeys/${journey.id}`)).body).toMatchObject({
      versions: [{ version: 1 }],
    });
    // The same key on another route is another request.
    expect(
      (await api.post('/v1/api-keys', { name: 'c', scope: 'ingest' }, { 'idempotency-key': key }))
        .status,
    ).toBe(201);
  });

  it('keeps keys apart per API key: a public ingest key cannot take a server key’s', async () => {
    const { key: ingestKey } = (
      await api.post('/v1/api-keys', { name: `site ${uniqueSuffix()}`, scope: 'ingest' })
    ).body as { key: string };
    const site = clientWith(api, { authorization: `Bearer ${ingestKey}` });
    const key = `idem-${uniqueSuffix()}`;
    const userId = `u-${uniqueSuffix()}`;
    // The website sends first, with the key the server will use and another body.
    const first = await site.post(
      '/v1/track',
      { userId, event: 'probe' },
      { 'idempotency-key': key },
    );
    expect(first.status).toBe(200);
    const server = await api.post(
      '/v1/track',
      { userId, event: 'purchased' },
      { 'idempotency-key': key },
    );
    expect(server.status, JSON.stringify(server.body)).toBe(200);
    expect(server.headers.get('idempotent-replayed')).toBeNull();
    expect(server.body).toMatchObject({ stored: true });
  });

  it('replays a CSV import retried with the same key, and imports it once', async () => {
    const s = uniqueSuffix();
    // A header of this test's own, so its jobs can be told from other tests' by their mapping.
    const header = `Mail ${s}`;
    const csv = `${header},plan\ncsv1.${s}@example.com,pro\ncsv2.${s}@example.com,free\n`;
    const mapped = `/v1/contacts/import?map=${encodeURIComponent(`${header}:email`)}`;
    const upload = (key: string, path: string, prefer?: string) =>
      api.request('POST', path, {
        body: csv,
        headers: {
          'content-type': 'text/csv',
          'idempotency-key': key,
          ...(prefer ? { prefer } : {}),
        },
      });

    const key = `idem-${s}`;
    const first = await upload(key, mapped);
    const again = await upload(key, mapped);
    expect(first.status).toBe(200);
    const firstBody: unknown = await first.json();
    expect(firstBody).toMatchObject({ imported: 2, updated: 0 });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Imported again, it would answer `updated: 2`.
    expect(await again.json()).toEqual(firstBody);
    // The same key with another mapping is a different request: refused.
    const remapped = await upload(key, `${mapped},plan:tier`);
    expect(remapped.status).toBe(422);

    // In the background: one job, and the repeat answers with it and where to poll it.
    const asyncKey = `idem-async-${s}`;
    const started = await upload(asyncKey, mapped, 'respond-async');
    expect(started.status).toBe(202);
    const job = (await started.json()) as { id: string };
    const repeat = await upload(asyncKey, mapped, 'respond-async');
    expect(repeat.status).toBe(202);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(repeat.headers.get('location')).toBe(`/v1/imports/${job.id}`);
    expect(((await repeat.json()) as { id: string }).id).toBe(job.id);
    const jobs = await engine.deps.prisma.importJob.findMany({
      where: { mapping: { path: [header], equals: 'email' } },
      select: { id: true },
    });
    expect(jobs).toEqual([{ id: job.id }]);
  });
});
