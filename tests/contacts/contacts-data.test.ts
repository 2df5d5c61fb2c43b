import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../engine/contacts/csv.js';
import { eraseContact } from '../../engine/contacts/erase.js';
import { acceptMessages } from '../../engine/index.js';
import { temporalRefusing } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';

interface TimelineBody {
  data: { id: string; kind: string; at: string; detail: Record<string, unknown> }[];
  nextCursor: string | null;
}

describe.each(databaseVariants())('contact timeline, erase, CSV (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('pages the timeline newest first, then erases the contact and ends its journey', async () => {
    const s = uniqueSuffix();
    const definition = JSON.parse(await readFile('examples/welcome-series.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const event = `signed_up_${s}`;
    const published = await api.post('/v1/journeys', {
      ...definition,
      id: `erase-${s}`,
      triggers: [{ type: 'event', event }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'P1D' },
      ],
    });
    expect(published.status).toBe(201);
    const userId = `user-${s}`;
    const email = `ada.${s}@example.com`;
    expect(
      (
        await api.post('/v1/identify', {
          userId,
          anonymousId: `anon-${s}`,
          traits: { email, firstName: 'Ada' },
        })
      ).status,
    ).toBe(200);
    for (let i = 0; i < 3; i++)
      await api.post('/v1/track', {
        userId,
        event: `viewed_${s}`,
        properties: { page: i },
        timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      });
    await api.post('/v1/track', { userId, event, properties: { plan: 'Pro' } });
    await eventually(
      async () => {
        const { body } = await api.get(`/v1/contacts/${userId}/timeline?limit=200`);
        const kinds = new Set((body as TimelineBody).data.map((i) => i.kind));
        return kinds.has('email') && kinds.has('journeyStep');
      },
      20_000,
      'the welcome email and journey steps on the timeline',
    );

    // Page by two; pages join up to the full list, newest first, without repeats.
    const all = (await api.get(`/v1/contacts/${userId}/timeline?limit=200`)).body as TimelineBody;
    const paged: TimelineBody['data'] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = (await api.get(`/v1/contacts/${userId}/timeline?limit=2${query}`))
        .body as TimelineBody;
      // A write while paging lands before the cursor: later pages neither shift nor repeat.
      if (paged.length === 0)
        await api.post('/v1/track', { userId, event: `late_${s}`, properties: {} });
      paged.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged.map((i) => i.id)).toEqual(all.data.map((i) => i.id));
    expect(new Set(paged.map((i) => i.id)).size).toBe(paged.length);
    const times = all.data.map((i) => Date.parse(i.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(new Set(all.data.map((i) => i.kind))).toEqual(
      new Set(['event', 'journeyStep', 'email']),
    );
    // Out-of-order timestamps sort by when they happened: the back-dated views come last.
    expect(all.data.at(-1)).toMatchObject({
      kind: 'event',
      detail: { name: `viewed_${s}`, properties: { page: 0 } },
    });
    expect((await api.get(`/v1/contacts/${userId}/timeline?cursor=nope`)).status).toBe(422);
    // Hand-made cursors the database would refuse (a 500 before): year 0, a NUL in the id.
    for (const made of [
      ['0000-01-01T00:00:00.000Z', 'x'],
      ['2026-01-01T00:00:00.000Z', 'x\u0000y'],
    ]) {
      const cursor = Buffer.from(JSON.stringify(made)).toString('base64url');
      const res = await api.get(`/v1/contacts/${userId}/timeline?cursor=${cursor}`);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ errors: [{ pointer: '/cursor' }] });
    }

    // Erase.
    const erased = await api.request('DELETE', `/v1/contacts/${userId}`);
    expect(erased.status).toBe(200);
    const body = (await erased.json()) as { contactId: string; counts: Record<string, number> };
    expect(body.counts).toMatchObject({
      eventsCleared: 6,
      enrollmentsEnded: 1,
      anonymousIds: 1,
      attributes: 1,
    });
    expect(body.counts.journeyRecordsScrubbed).toBeGreaterThan(0);
    const after = await api.get(`/v1/contacts/${body.contactId}`);
    expect(after.body).toMatchObject({ userId: `erased:${body.contactId}`, email: null });
    expect(JSON.stringify(after.body)).not.toContain('Ada');
    await eventually(
      async () => {
        const { body: c } = await api.get(`/v1/contacts/${body.contactId}`);
        return (c as { enrollments: { status: string }[] }).enrollments[0]?.status === 'exited';
      },
      20_000,
      'the enrollment to exit',
    );
    const events = (await api.get(`/v1/contacts/${body.contactId}/timeline?limit=200`))
      .body as TimelineBody;
    expect(events.data.length).toBeGreaterThan(all.data.length);
    expect(JSON.stringify(events.data)).not.toContain(email);
    expect(JSON.stringify(events.data)).not.toContain('Ada');
    expect((await api.request('DELETE', `/v1/contacts/${body.contactId}`)).status).toBe(404);
    expect((await api.request('DELETE', `/v1/contacts/${userId}`)).status).toBe(404);
  }, 60_000);

  it('imports a CSV idempotently with dedupe and rejected rows, and exports it', async () => {
    const s = uniqueSuffix();
    const existing = `Grace.${s}@Example.com`;
    await api.post('/v1/identify', { userId: `grace-${s}`, traits: { email: existing } });
    const file = [
      'E-Mail,user_id,first_name,lastName,company',
      `  ${existing.toUpperCase()} ,,Grace,Hopper,"Navy, US"`,
      `ada.${s}@example.com,ada-${s},Ada,"Love ""lace""",Analytical`,
      `not-an-email,,X,Y,Z`,
      `,,Nobody,Here,None`,
      `short.${s}@example.com,only-two`,
      `alan.${s}@example.com,,Alan,"Turing\r\nline two",Bletchley`,
    ].join('\r\n');
    const post = () =>
      api.request('POST', '/v1/contacts/import?map=E-Mail:email', {
        body: file,
        headers: { 'content-type': 'text/csv' },
      });
    const first = await post();
    expect(first.status).toBe(200);
    const report = (await first.json()) as {
      imported: number;
      updated: number;
      rejected: { row: number; reason: string }[];
      warnings: unknown[];
    };
    expect(report).toMatchObject({ imported: 2, updated: 1, warnings: [] });
    expect(report.rejected.map((r) => r.row)).toEqual([4, 5, 6]);
    expect(report.rejected[0]?.reason).toContain('not an email');
    expect(report.rejected[1]?.reason).toContain('neither');
    expect(report.rejected[2]?.reason).toContain('2 columns');
    const grace = (await api.get(`/v1/contacts/grace-${s}`)).body;
    expect(grace).toMatchObject({ firstName: 'Grace', company: 'Navy, US' });

    // The same file again stores nothing new: every row is an update.
    const again = await post();
    expect(await again.json()).toMatchObject({ imported: 0, updated: 3 });

    const exported = await api.request('GET', '/v1/contacts/export.csv');
    expect(exported.headers.get('content-type')).toContain('text/csv');
    const parsed = parseCsv(await exported.text());
    if (!parsed.ok) throw new Error('export is not valid CSV');
    const [header, ...rows] = parsed.records;
    expect(header?.slice(0, 3)).toEqual(['id', 'userId', 'email']);
    const col = (name: string) => header?.indexOf(name) ?? -1;
    const alan = rows.filter((r) => r[col('email')] === `alan.${s}@example.com`);
    expect(alan).toHaveLength(1);
    expect(alan[0]?.[col('lastName')]).toBe('Turing\r\nline two');
    const ada = rows.find((r) => r[col('userId')] === `ada-${s}`);
    expect(ada?.[col('lastName')]).toBe('Love "lace"');

    const wrongType = await api.request('POST', '/v1/contacts/import', {
      body: 'email\nx@y.io',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
  }, 60_000);

  it('imports a file larger than one chunk', async () => {
    const s = uniqueSuffix();
    const rows = Array.from({ length: 520 }, (_, i) => `bulk${i}.${s}@example.com,${i}`);
    const res = await api.request('POST', '/v1/contacts/import', {
      body: ['email,seat', ...rows].join('\n'),
      headers: { 'content-type': 'text/csv' },
    });
    expect(await res.json()).toEqual({ imported: 520, updated: 0, rejected: [], warnings: [] });
    const last = await api.get('/v1/contacts/export.csv');
    expect(String(last.body)).toContain(`bulk519.${s}@example.com,`);
  }, 120_000);

  it('ends the journeys of an erased contact on a retry when telling them failed', async () => {
    const s = uniqueSuffix();
    const event = `joined_${s}`;
    const published = await api.post('/v1/journeys', {
      id: `erase-retry-${s}`,
      name: 'Erase retry',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'pause', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status).toBe(201);
    const tracked = await api.post('/v1/track', { userId: `gone-${s}`, event });
    const { contactId } = tracked.body as { contactId: string };
    const status = async () =>
      ((await api.get(`/v1/contacts/${contactId}`)).body as { enrollments: { status: string }[] })
        .enrollments[0]?.status;
    await eventually(async () => (await status()) === 'active', 10_000, 'the enrollment to wait');
    // The erase commits, then Temporal refuses the exit signal.
    const down = { ...engine.deps, temporal: temporalRefusing(engine.deps.temporal, 'signal') };
    await expect(eraseContact(down, 'default', contactId)).rejects.toThrow('Temporal unavailable');
    expect(await status()).toBe('active');
    // The retry: erased already (404), and the enrollment still running is told now.
    expect((await api.request('DELETE', `/v1/contacts/${contactId}`)).status).toBe(404);
    await eventually(async () => (await status()) === 'exited', 10_000, 'the enrollment to exit');
  });

  it('erases an anonymous contact that has no email', async () => {
    const s = uniqueSuffix();
    const tracked = await api.post('/v1/track', { anonymousId: `anon-${s}`, event: `seen_${s}` });
    const { contactId } = tracked.body as { contactId: string };
    const erased = await api.request('DELETE', `/v1/contacts/${contactId}`);
    expect(erased.status).toBe(200);
    expect(await erased.json()).toMatchObject({
      counts: { eventsCleared: 1, anonymousIds: 1, journeyRecordsScrubbed: 0 },
    });
  });

  it('writes nothing back onto a contact that an identify found just before it was erased', async () => {
    const s = uniqueSuffix();
    const identified = await api.post('/v1/identify', {
      userId: `late-${s}`,
      traits: { email: `late-${s}@example.com` },
    });
    const { contactId } = identified.body as { contactId: string };
    expect((await api.request('DELETE', `/v1/contacts/${contactId}`)).status).toBe(200);

    // An identify resolved to the contact before the erase committed, applied after it.
    const accepted = await acceptMessages(engine.deps, 'default', [
      {
        type: 'identify',
        messageId: `late-${s}-2`,
        userId: `late-${s}`,
        anonymousId: null,
        contactId,
        event: null,
        traits: { email: `late-${s}@example.com`, plan: 'pro' },
        properties: {},
        timestamp: new Date(),
      },
    ]);
    expect(accepted.messages[0]?.warning).toBe('contact-erased');
    const contact = await engine.deps.prisma.contact.findUniqueOrThrow({
      where: { id: contactId },
    });
    expect(contact).toMatchObject({ email: null, emailKey: null, attributes: {} });
    const event = await engine.deps.prisma.event.findUniqueOrThrow({
      where: { id: accepted.messages[0]?.eventId ?? '' },
    });
    expect(event.properties).toEqual({});
  });
});
