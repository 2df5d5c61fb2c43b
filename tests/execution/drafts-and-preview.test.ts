import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/** Drafts are stored but enroll no one until published; any journey can be previewed first. */
describe('drafts and previews', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('saves a draft that enrolls no one, then publishes it as the version that runs', async () => {
    const s = uniqueSuffix();
    const key = `draft-${s}`;
    const definition = {
      id: key,
      name: 'Draft',
      triggers: [{ type: 'event', event: `ping_${s}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    };
    const saved = await api.post('/v1/journeys?draft=true', definition);
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ status: 'draft', version: 1 });
    await api.post('/v1/identify', { userId: `d-${s}`, traits: { email: `d-${s}@example.com` } });
    const early = await api.post('/v1/track', { userId: `d-${s}`, event: `ping_${s}` });
    expect(early.body).toMatchObject({ routing: { enrollments: [] } });

    const published = await api.post(`/v1/journeys/${key}/publish`, {});
    expect(published.body).toMatchObject({ status: 'active', version: 1 });
    expect((await api.post(`/v1/journeys/${key}/publish`, {})).status).toBe(409);
    const later = await api.post('/v1/track', { userId: `d-${s}`, event: `ping_${s}` });
    expect(later.body).toMatchObject({ routing: { enrollments: [{ enrolled: true }] } });
    const stored = (await api.get(`/v1/journeys/${key}`)).body as {
      versions: { version: number; publishedAt: string | null }[];
    };
    expect(stored.versions).toEqual([
      expect.objectContaining({ version: 1, publishedAt: expect.any(String) as unknown }),
    ]);
  });

  it('previews weeks of a journey in one request, without sending or storing anything', async () => {
    const s = uniqueSuffix();
    const res = await api.post('/v1/journeys/simulate', {
      journey: {
        id: `preview-${s}`,
        name: 'Preview',
        triggers: [{ type: 'event', event: 'signed_up' }],
        goals: [{ id: 'bought', type: 'event', event: 'purchased' }],
        steps: [
          { id: 'welcome', type: 'sendEmail', template: 'welcome' },
          { id: 'pause', type: 'wait', duration: 'P3D' },
          { id: 'tips', type: 'sendEmail', template: 'tips' },
        ],
      },
      start: '2026-01-05T09:00:00Z',
      contacts: [{ id: 'ada' }, { id: 'bob' }],
      timeline: [
        { at: '2026-01-05T10:00:00Z', contactId: 'ada', name: 'signed_up' },
        { at: '2026-01-05T10:00:00Z', contactId: 'bob', name: 'signed_up' },
        { at: '2026-01-06T12:00:00Z', contactId: 'bob', name: 'purchased' },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as {
      stoppedAt: string | null;
      enrollments: { contactId: string; outcome: string; reason: string | null }[];
      actions: { at: string; contactId: string; stepId: string }[];
    };
    expect(body.actions.map((a) => `${a.contactId} ${a.stepId} ${a.at}`)).toEqual([
      'ada welcome 2026-01-05T10:00:00.000Z',
      'bob welcome 2026-01-05T10:00:00.000Z',
      'ada tips 2026-01-08T10:00:00.000Z',
    ]);
    expect(body.enrollments.map((e) => [e.contactId, e.outcome, e.reason])).toEqual([
      ['ada', 'completed', null],
      ['bob', 'converted', 'bought'],
    ]);
    expect((await api.get(`/v1/journeys/preview-${s}`)).status).toBe(404);

    // A loop with a one-minute wait over a year is half a million emails a contact: the
    // preview stops at its step budget and says when, where it held the API for minutes.
    const loop = await api.post('/v1/journeys/simulate', {
      journey: {
        id: `loop-${s}`,
        name: 'Loop',
        triggers: [{ type: 'event', event: 'signed_up' }],
        steps: [
          { id: 'pause', type: 'wait', duration: 'PT1M' },
          { id: 'ping', type: 'sendEmail', template: 'welcome', next: 'pause' },
        ],
      },
      start: '2026-01-05T09:00:00Z',
      end: '2027-01-05T09:00:00Z',
      contacts: [{ id: 'ada' }, { id: 'bob' }],
      timeline: [
        { at: '2026-01-05T10:00:00Z', contactId: 'ada', name: 'signed_up' },
        { at: '2026-01-05T10:00:00Z', contactId: 'bob', name: 'signed_up' },
      ],
    });
    expect(loop.status, JSON.stringify(loop.body).slice(0, 300)).toBe(200);
    const stopped = loop.body as { stoppedAt: string | null; actions: unknown[] };
    expect(stopped.stoppedAt).not.toBeNull();
    expect(Date.parse(stopped.stoppedAt ?? '')).toBeLessThan(Date.parse('2027-01-05T09:00:00Z'));
    expect(stopped.actions.length).toBeGreaterThan(0);
    expect(stopped.actions.length).toBeLessThan(1_000_000);
    expect(body).toMatchObject({ stoppedAt: null });

    const bad = await api.post('/v1/journeys/simulate', {
      journey: { id: 'x', name: 'x', triggers: [], steps: [] },
      contacts: [{ id: 'a' }],
    });
    expect(bad.status).toBe(422);
    expect((bad.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toMatch(
      /^\/journey\//,
    );
  });
  it('refuses contacts and events a preview could not run as given, each at its pointer', async () => {
    const s = uniqueSuffix();
    const journey = {
      id: `checked-${s}`,
      name: 'Checked',
      triggers: [{ type: 'event', event: 'signed_up' }],
      steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
    };
    const res = await api.post('/v1/journeys/simulate', {
      journey,
      start: '2026-01-05T09:00:00Z',
      contacts: [
        { id: 'ada', timezone: 'Europe/Pariss' },
        { id: 'bob', enrollAt: '2026-01-04T09:00:00Z' },
        { id: 'ada' },
      ],
      timeline: [
        { at: '2026-01-06T09:00:00Z', contactId: 'eve', name: 'signed_up' },
        { at: '2026-01-01T09:00:00Z', contactId: 'bob', name: 'signed_up' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.contentType).toContain('application/problem+json');
    expect(
      (res.body as { errors: { pointer: string; code: string }[] }).errors.map((e) => [
        e.pointer,
        e.code,
      ]),
    ).toEqual([
      ['/contacts/0/timezone', 'invalid-timezone'],
      ['/contacts/1/enrollAt', 'before-start'],
      ['/contacts/2/id', 'duplicate-contact'],
      ['/timeline/0/contactId', 'unknown-contact'],
      ['/timeline/1/at', 'before-start'],
    ]);
    const both = await api.post('/v1/journeys/simulate', {
      journey,
      key: 'welcome-series',
      contacts: [{ id: 'ada' }],
    });
    expect(both.status).toBe(422);
    expect(both.body).toMatchObject({ errors: [{ pointer: '/key', code: 'journey-and-key' }] });
  });

  it('previews contacts on lists, and tags, lists and stages that change over the timeline', async () => {
    const s = uniqueSuffix();
    const res = await api.post('/v1/journeys/simulate', {
      journey: {
        id: `lists-${s}`,
        name: 'Newsletter and onboarding',
        triggers: [
          {
            type: 'condition',
            condition: { type: 'contains', field: 'lists', value: 'newsletter' },
          },
          { type: 'lifecycleChange', to: 'customer' },
        ],
        entry: { enrollExisting: true },
        steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
      },
      start: '2026-01-05T09:00:00Z',
      contacts: [
        { id: 'on-list', lists: ['newsletter'] },
        { id: 'joins-later' },
        { id: 'becomes-customer', lifecycleStage: 'lead' },
        { id: 'never' },
      ],
      timeline: [
        { at: '2026-01-06T10:00:00Z', contactId: 'joins-later', update: { lists: ['newsletter'] } },
        {
          at: '2026-01-07T10:00:00Z',
          contactId: 'becomes-customer',
          update: { lifecycleStage: 'customer', tags: ['won'] },
        },
        { at: '2026-01-07T10:00:00Z', contactId: 'never', update: { tags: ['x'] } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as { actions: { contactId: string; at: string }[] };
    expect(body.actions.map((a) => `${a.contactId} ${a.at}`).sort()).toEqual([
      'becomes-customer 2026-01-07T10:00:00.000Z',
      'joins-later 2026-01-06T10:00:00.000Z',
      'on-list 2026-01-05T09:00:00.000Z',
    ]);
  });
});
