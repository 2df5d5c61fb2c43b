import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, listRoutes } from '../../api/index.js';
import { eventsIngested } from '../../metrics/index.js';
import { startTestEngine } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { clientWith } from './workspaces.js';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown[] }>>;
  components: { schemas: Record<string, unknown> };
}

describe('operating the API', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('publishes an OpenAPI 3.1 document covering every route, with the schemas that validate bodies', async () => {
    const res = await clientWith(api, {}).get('/v1/openapi.json');
    const doc = res.body as OpenApi;
    expect(doc.openapi).toBe('3.1.0');
    const app = createApp({
      engine: engine.deps,
      readiness: () => Promise.resolve({}),
      mailbox: true,
    });
    for (const route of listRoutes(app)) {
      if (route.path === '/v1/openapi.json' || route.path === '/docs') continue;
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(
        doc.paths[path]?.[route.method.toLowerCase()],
        `${route.method} ${path}`,
      ).toBeDefined();
    }
    expect(doc.paths['/v1/track']?.post?.requestBody).toBeDefined();
    expect(doc.components.schemas.Track).toMatchObject({
      properties: { event: { type: 'string' } },
    });
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
  });

  it('serves a readable docs page with no external resources', async () => {
    const res = await clientWith(api, {}).request('GET', '/docs');
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('/v1/track');
    // Nothing is fetched from elsewhere: no scripts, stylesheets, images or fonts.
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|@import|url\(/i);
  });

  it('exposes Prometheus metrics, counting requests by route pattern', async () => {
    await api.get('/v1/journeys');
    const res = await clientWith(api, {}).request('GET', '/metrics');
    const text = await res.text();
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(text).toMatch(
      /drumbeat_http_requests_total\{method="GET",route="\/v1\/journeys",status="200"\} \d+/,
    );
    expect(text).toContain('drumbeat_events_ingested_total');
    expect(text).toContain('drumbeat_enrollments');
  });

  it('counts the events a batch stored by type, and not its duplicates', async () => {
    const counted = async (type: string) =>
      (await eventsIngested.get()).values.find(
        (v) => v.labels.type === type && v.labels.source === 'api',
      )?.value ?? 0;
    const before = { track: await counted('track'), identify: await counted('identify') };
    const message = (i: number) => ({
      type: 'track',
      userId: 'metrics-1',
      event: 'page_viewed',
      messageId: `metrics-${i}`,
    });
    const batch = [message(1), message(2), message(3), { type: 'identify', userId: 'metrics-1' }];
    expect(await api.post('/v1/batch', { batch })).toMatchObject({ status: 200 });
    // Sent again, the tracks are duplicates: stored once, counted once.
    expect(await api.post('/v1/batch', { batch: batch.slice(0, 3) })).toMatchObject({
      body: { accepted: 0, duplicates: 3 },
    });
    expect(await counted('track')).toBe(before.track + 3);
    expect(await counted('identify')).toBe(before.identify + 1);
  });

  it('reports readiness of the database and Temporal', async () => {
    expect(await clientWith(api, {}).get('/readyz')).toMatchObject({
      status: 200,
      body: { checks: { database: true, temporal: true } },
    });
  });
});
