import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

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
    expect(again.body).toEqual(first.body);
    expect(await engine.deps.prisma.apiKey.count({ where: { name: body.name } })).toBe(1);
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
});
