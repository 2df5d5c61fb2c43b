import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../api/auth/keys.js';
import { recordKey } from '../../api/idempotency.js';
import { canonicalJson } from '../../definitions/index.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * A request holds its Idempotency-Key for a short lease while it runs. One that never answered
 * (the process stopped mid-request, its last write failed) leaves its key in progress; once the
 * lease is over, a retry with the key runs as a first request instead of getting 409 for a day.
 */
describe.each(databaseVariants())('Idempotency-Key lease (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  /** The row a request of this client's key with `given` and `body` left in progress, `ageMs` ago. */
  const leftInProgress = async (given: string, body: unknown, ageMs: number) => {
    const token = (engine.apiHeaders.authorization ?? '').replace(/^Bearer /, '');
    const { id: keyId } = await engine.deps.prisma.apiKey.findUniqueOrThrow({
      where: { hash: hashKey(token) },
    });
    return engine.deps.prisma.idempotencyRecord.create({
      data: {
        key: recordKey({ workspaceId: 'default', keyId }, 'POST', '/v1/api-keys', given),
        requestHash: createHash('sha256').update(canonicalJson(body)).digest('hex'),
        status: 0,
        createdAt: new Date(Date.now() - ageMs),
      },
    });
  };

  it('lets a retry take over a key left in progress past its lease, and keeps its answer', async () => {
    const given = `idem-lease-${uniqueSuffix()}`;
    const body = { name: `lease bot ${given}`, scope: 'write' };
    await leftInProgress(given, body, 2 * 60 * 1000);
    const retried = await api.post('/v1/api-keys', body, { 'idempotency-key': given });
    expect(retried.status, JSON.stringify(retried.body)).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();

    const again = await api.post('/v1/api-keys', body, { 'idempotency-key': given });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // The same key; its secret is shown once, so the replay leaves it out.
    expect(again.body).toEqual({ ...(retried.body as object), key: null });
    expect(await engine.deps.prisma.apiKey.count({ where: { name: body.name } })).toBe(1);
  });

  it('still answers 409 while the request holding the key is within its lease', async () => {
    const given = `idem-lease-${uniqueSuffix()}`;
    const body = { name: `lease bot ${given}`, scope: 'write' };
    await leftInProgress(given, body, 5_000);
    const repeat = await api.post('/v1/api-keys', body, { 'idempotency-key': given });
    expect(repeat.status).toBe(409);
    expect(repeat.body).toMatchObject({
      type: 'https://drumbeat.dev/problems/idempotency-in-progress',
    });
    expect(await engine.deps.prisma.apiKey.count({ where: { name: body.name } })).toBe(0);
  });
});
