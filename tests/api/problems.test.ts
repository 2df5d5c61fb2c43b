import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface ProblemBody {
  type: string;
  status: number;
  detail: string;
  errors?: { pointer: string; code: string; detail: string }[];
}

/** Bad input gets a clear problem+json answer with pointers, and loses nothing already stored. */
describe('API errors', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('answers /healthz and /readyz', async () => {
    expect(await api.get(`/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await api.get(`/readyz`)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: true, temporal: true } },
    });
  });

  it('reports every problem of a broken journey with its pointer, and stores nothing', async () => {
    const key = `broken-${uniqueSuffix()}`;
    const res = await api.post(`/v1/journeys`, {
      id: key,
      name: 'Broken',
      triggers: [{ type: 'event', event: 'signed_up' }],
      steps: [
        { id: 'a', type: 'sendEmail', template: 'no-such-template', next: 'zzz' },
        { id: 'b', type: 'wait', duration: '3 days' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    const body = res.body as ProblemBody;
    expect(body.type).toBe('https://drumbeat.dev/problems/invalid-input');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/steps/1/duration', code: 'bad-format' }),
      ]),
    );

    const semantic = await api.post(`/v1/journeys`, {
      id: key,
      name: 'Broken',
      triggers: [{ type: 'event', event: 'signed_up' }],
      steps: [
        { id: 'a', type: 'sendEmail', template: 'no-such-template', next: 'zzz' },
        { id: 'b', type: 'wait', duration: 'P3D' },
      ],
    });
    const pointers = (semantic.body as ProblemBody).errors?.map((e) => `${e.pointer} ${e.code}`);
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/steps/0/template unknown-template',
        '/steps/0/next unknown-step',
        '/steps/1 unreachable-step',
      ]),
    );
    expect((await api.get(`/v1/journeys/${key}`)).status).toBe(404);
  });

  it('keeps the published version when a broken update is submitted', async () => {
    const key = `keep-${uniqueSuffix()}`;
    const good = {
      id: key,
      name: 'Keep',
      triggers: [{ type: 'event', event: 'x' }],
      steps: [{ id: 'w', type: 'sendEmail', template: 'welcome' }],
    };
    expect((await api.post(`/v1/journeys`, good)).status).toBe(201);
    const broken = await api.post(`/v1/journeys`, {
      ...good,
      steps: [{ id: 'w', type: 'sendEmail' }],
    });
    expect(broken.status).toBe(422);
    expect((broken.body as ProblemBody).errors).toEqual([
      expect.objectContaining({ pointer: '/steps/0/template', code: 'required' }),
    ]);
    const stored = await api.get(`/v1/journeys/${key}`);
    expect(stored.body).toMatchObject({ versions: [{ version: 1 }], definition: good });
  });

  it('refuses a step that enrolls contacts into a journey that does not exist', async () => {
    const key = `refers-${uniqueSuffix()}`;
    const res = await api.post('/v1/journeys', {
      id: key,
      name: 'Refers',
      triggers: [{ type: 'event', event: 'x' }],
      steps: [{ id: 'move', type: 'enroll', journey: 'no-such-journey' }],
    });
    expect(res.status).toBe(422);
    expect((res.body as ProblemBody).errors).toEqual([
      expect.objectContaining({ pointer: '/steps/0/journey' }),
    ]);
    expect((await api.get(`/v1/journeys/${key}`)).status).toBe(404);
  });

  it('treats malformed JSON, a wrong content type and an oversized body as client errors', async () => {
    const malformed = await api.request('POST', `/v1/track`, {
      headers: { 'content-type': 'application/json' },
      body: '{"userId": "a",',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/problem\+json/);

    const text = await api.request('POST', `/v1/track`, {
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);

    const huge = await api.request('POST', `/v1/track`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'a', event: 'e', properties: { blob: 'x'.repeat(600_000) } }),
    });
    expect(huge.status).toBe(413);
  });

  it('requires someone to attribute an event to', async () => {
    const res = await api.post(`/v1/track`, { event: 'signed_up' });
    expect(res.status).toBe(422);
    expect((res.body as ProblemBody).errors).toEqual([
      expect.objectContaining({ pointer: '/userId', code: 'required' }),
    ]);
  });

  it('answers unknown routes with a 404 problem', async () => {
    const res = await api.get(`/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      status: 404,
      type: 'https://drumbeat.dev/problems/not-found',
    });
  });
});
