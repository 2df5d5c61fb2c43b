import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../engine/contacts/csv.js';
import { createWorkspace, clientWith, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { expectProblem, send, type Problem } from './support.js';

const put = (api: ApiClient, path: string, body: unknown) => send(api, 'PUT', path, body);
const patch = (api: ApiClient, path: string, body: unknown) => send(api, 'PATCH', path, body);

describe.each(databaseVariants())('typed custom attributes (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let ws: OtherWorkspace;
  let api: ApiClient;
  let writer: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    // Its own workspace: the policy below must not change what other test files see.
    ws = await createWorkspace(apiClient(engine), `attributes ${uniqueSuffix()}`);
    api = ws.api;
    const key = (await api.post('/v1/api-keys', { name: 'writer', scope: 'write' })).body as {
      key: string;
    };
    writer = clientWith(api, { authorization: `Bearer ${key.key}` });
    const declare = async (key: string, body: unknown) =>
      expect((await put(api, `/v1/attributes/${key}`, body)).status).toBe(201);
    await declare('plan', { type: 'enum', values: ['pro', 'team'], label: 'Plan' });
    await declare('seats', { type: 'number' });
    await declare('trialEnds', { type: 'date' });
    await declare('billingEmail', { type: 'email' });
    await declare('beta', { type: 'boolean' });
    await declare('interests', { type: 'list' });
    await declare('nickname', { type: 'text' });
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('declares attributes with admin keys; write keys only read them', async () => {
    const list = (await writer.get('/v1/attributes')).body as {
      data: { key: string; type: string; values?: string[] }[];
    };
    expect(list.data.map((d) => d.key).sort()).toEqual(
      ['beta', 'billingEmail', 'interests', 'nickname', 'plan', 'seats', 'trialEnds'].sort(),
    );
    expect((await writer.get('/v1/attributes/plan')).body).toMatchObject({
      key: 'plan',
      type: 'enum',
      values: ['pro', 'team'],
      label: 'Plan',
    });
    expect((await put(writer, '/v1/attributes/color', { type: 'text' })).status).toBe(403);
    expect((await writer.request('DELETE', '/v1/attributes/plan')).status).toBe(403);

    // Redeclaring answers 200 and replaces the definition.
    const again = await put(api, '/v1/attributes/nickname', { type: 'text', label: 'Nickname' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ key: 'nickname', label: 'Nickname' });

    expectProblem(await put(api, '/v1/attributes/tier', { type: 'enum' }), ['/values']);
    expectProblem(await put(api, '/v1/attributes/tier', { type: 'number', values: ['a'] }), [
      '/values',
    ]);
    expectProblem(await put(api, '/v1/attributes/email', { type: 'text' }), ['/key']);
    expectProblem(await put(api, '/v1/attributes/9lives', { type: 'text' }), ['/key']);
    expectProblem(await put(api, '/v1/attributes/tier', { type: 'colour' }), ['/type']);
    expect((await api.get('/v1/attributes/tier')).status).toBe(404);

    await put(api, '/v1/attributes/temporary', { type: 'number' });
    expect((await api.request('DELETE', '/v1/attributes/temporary')).status).toBe(200);
    expect((await api.request('DELETE', '/v1/attributes/temporary')).status).toBe(404);
    // Undeclared again: any value is stored under the default policy.
    const s = uniqueSuffix();
    await api.post('/v1/identify', { userId: `t-${s}`, traits: { temporary: 'many' } });
    expect((await api.get(`/v1/contacts/t-${s}`)).body).toMatchObject({ temporary: 'many' });
  });

  it('normalises valid traits of an identify and refuses bad ones without storing anything', async () => {
    const s = uniqueSuffix();
    const ok = await api.post('/v1/identify', {
      userId: `ada-${s}`,
      traits: {
        email: ` ada.${s}@example.com `,
        plan: 'PRO',
        seats: 12,
        trialEnds: '2026-03-01T10:00:00+02:00',
        billingEmail: '  billing@example.com ',
        beta: false,
        interests: ['email', ' ai ', 'email'],
        birthday: '1815-12-10',
        timezone: 'europe/paris',
        locale: 'en-gb',
      },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await api.get(`/v1/contacts/ada-${s}`)).body).toMatchObject({
      email: `ada.${s}@example.com`,
      plan: 'pro',
      seats: 12,
      trialEnds: '2026-03-01T08:00:00.000Z',
      billingEmail: 'billing@example.com',
      beta: false,
      interests: ['email', 'ai'],
      birthday: '1815-12-10',
      timezone: 'Europe/Paris',
      locale: 'en-GB',
    });

    const bad = await api.post('/v1/identify', {
      userId: `bad-${s}`,
      traits: {
        plan: 'gold',
        seats: '12',
        trialEnds: '2026-02-30',
        billingEmail: 'nobody',
        beta: 'yes',
        interests: 'ai',
        nickname: 7,
        timezone: '+01:00',
        locale: 'en_GB',
        email: 'not-an-email',
      },
    });
    const problem = expectProblem(bad, [
      '/traits/plan',
      '/traits/seats',
      '/traits/trialEnds',
      '/traits/billingEmail',
      '/traits/beta',
      '/traits/interests',
      '/traits/nickname',
      '/traits/timezone',
      '/traits/locale',
      '/traits/email',
    ]);
    expect(problem.errors.find((e) => e.pointer === '/traits/plan')?.detail).toContain('`pro`');
    expect((await api.get(`/v1/contacts/bad-${s}`)).status).toBe(404);

    // A bad value for a known contact leaves it as it was.
    expectProblem(await api.post('/v1/identify', { userId: `ada-${s}`, traits: { seats: 'x' } }), [
      '/traits/seats',
    ]);
    expect((await api.get(`/v1/contacts/ada-${s}`)).body).toMatchObject({ seats: 12 });
  });

  it('reports a bad identify in a batch by index and pointer and stores the good messages', async () => {
    const s = uniqueSuffix();
    const res = await api.post('/v1/batch', {
      batch: [
        { type: 'identify', userId: `good-${s}`, traits: { plan: 'team', seats: 3 } },
        { type: 'track', userId: `good-${s}`, event: 'signed_up' },
        { type: 'identify', userId: `other-${s}`, traits: { plan: 'gold' } },
        { type: 'identify', userId: `third-${s}`, traits: { seats: 1, trialEnds: 'soon' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 2 });
    const errors = (res.body as { errors: { index: number; pointer: string; detail: string }[] })
      .errors;
    expect(errors.map((e) => [e.index, e.pointer])).toEqual([
      [2, '/batch/2/traits/plan'],
      [3, '/batch/3/traits/trialEnds'],
    ]);
    expect(errors[0]?.detail).toMatch(/`gold`/);
    expect((await api.get(`/v1/contacts/good-${s}`)).body).toMatchObject({ plan: 'team' });
    expect((await api.get(`/v1/contacts/other-${s}`)).status).toBe(404);
    expect((await api.get(`/v1/contacts/third-${s}`)).status).toBe(404);

    const none = await api.post('/v1/batch', {
      batch: [{ type: 'identify', userId: `x-${s}`, traits: { seats: 'many' } }],
    });
    expectProblem(none, ['/batch/0/traits/seats']);
  });

  it('creates and updates contacts through the API with the same checks', async () => {
    const s = uniqueSuffix();
    const refused = await api.post('/v1/contacts', {
      userId: `c-${s}`,
      email: `c.${s}@example.com`,
      timezone: 'Mars/Olympus',
      attributes: { plan: 'team', seats: 'three' },
    });
    expectProblem(refused, ['/timezone', '/attributes/seats']);
    expect((await api.get(`/v1/contacts/c-${s}`)).status).toBe(404);
    expectProblem(await api.post('/v1/contacts', { attributes: { plan: 'pro' } }), ['/userId']);
    expectProblem(await api.post('/v1/contacts', { userId: `c-${s}`, colour: 'red' }), ['/colour']);

    const created = await api.post('/v1/contacts', {
      userId: `c-${s}`,
      email: ` C.${s}@example.com`,
      timezone: 'America/New_York',
      locale: 'fr-ca',
      attributes: { plan: 'Team', seats: 3, trialEnds: '2026-06-01' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      userId: `c-${s}`,
      email: `C.${s}@example.com`,
      timezone: 'America/New_York',
      locale: 'fr-CA',
      plan: 'team',
      seats: 3,
      trialEnds: '2026-06-01',
    });
    const id = (created.body as { id: string }).id;
    const duplicate = await api.post('/v1/contacts', { email: `c.${s}@EXAMPLE.com` });
    expect(duplicate.status).toBe(409);
    expect((duplicate.body as Problem).errors[0]?.pointer).toBe('/email');
    // Given as an attribute, the pointer says so: on create and on update alike.
    const asAttribute = await api.post('/v1/contacts', {
      userId: `c2-${s}`,
      attributes: { email: `c.${s}@example.com` },
    });
    expect(asAttribute.status, JSON.stringify(asAttribute.body)).toBe(409);
    expect((asAttribute.body as Problem).errors[0]?.pointer).toBe('/attributes/email');

    // An email-only contact is anonymous until identified.
    const anonymous = await api.post('/v1/contacts', { email: `anon.${s}@example.com` });
    expect(anonymous.status).toBe(201);
    expect(anonymous.body).toMatchObject({ userId: null, email: `anon.${s}@example.com` });

    expectProblem(await patch(api, `/v1/contacts/${id}`, { attributes: { plan: 'free' } }), [
      '/attributes/plan',
    ]);
    expectProblem(await patch(api, `/v1/contacts/${id}`, { locale: 'not a locale' }), ['/locale']);
    expectProblem(await patch(api, `/v1/contacts/${id}`, {}), ['']);
    expect((await api.get(`/v1/contacts/${id}`)).body).toMatchObject({
      plan: 'team',
      locale: 'fr-CA',
    });
    const updated = await patch(api, `/v1/contacts/c-${s}`, {
      attributes: { plan: 'pro', beta: true, nickname: null },
      locale: 'de',
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ plan: 'pro', beta: true, locale: 'de', seats: 3 });
    expect((await patch(api, `/v1/contacts/nobody-${s}`, { locale: 'de' })).status).toBe(404);
    // The update is on the timeline as the identify it was written as.
    const timeline = (await api.get(`/v1/contacts/${id}/timeline`)).body as {
      data: { kind: string; detail: { type?: string; properties?: Record<string, unknown> } }[];
    };
    expect(timeline.data[0]).toMatchObject({
      kind: 'event',
      detail: { type: 'identify', properties: { plan: 'pro', beta: true, locale: 'de' } },
    });
  });

  it('imports CSV cells as their declared types and rejects rows that do not fit', async () => {
    const s = uniqueSuffix();
    const file = [
      'email,plan,seats,beta,interests,trialEnds,timezone',
      `one.${s}@example.com,Pro,12,yes,"ai, email",2026-01-31,Europe/Berlin`,
      `two.${s}@example.com,gold,x,maybe,,2026-13-01,Nowhere/City`,
      `three.${s}@example.com,team,,no,,,`,
    ].join('\n');
    const res = await api.request('POST', '/v1/contacts/import', {
      body: file,
      headers: { 'content-type': 'text/csv' },
    });
    const report = (await res.json()) as {
      imported: number;
      rejected: { row: number; reason: string }[];
    };
    expect(report.imported).toBe(2);
    expect(report.rejected.map((r) => r.row)).toEqual([3]);
    for (const name of ['plan', 'seats', 'beta', 'trialEnds', 'timezone'])
      expect(report.rejected[0]?.reason).toContain(`\`${name}\``);
    const exported = parseCsv(await (await api.request('GET', '/v1/contacts/export.csv')).text());
    if (!exported.ok) throw new Error('export is not valid CSV');
    const [header = [], ...rows] = exported.records;
    const row = (email: string) => {
      const values = rows.find((r) => r[header.indexOf('email')] === email);
      return values ? Object.fromEntries(header.map((h, i) => [h, values[i]])) : undefined;
    };
    expect(row(`two.${s}@example.com`)).toBeUndefined();
    // Typed values are exported as JSON: a number, a boolean, a list.
    expect(row(`one.${s}@example.com`)).toMatchObject({
      plan: 'pro',
      seats: '12',
      beta: 'true',
      interests: '["ai","email"]',
      trialEnds: '2026-01-31',
    });
    expect(row(`three.${s}@example.com`)).toMatchObject({ plan: 'team', beta: 'false' });
  });

  it('checks journeys against the declared attribute types when they are validated and published', async () => {
    const s = uniqueSuffix();
    const branching = (id: string, condition: Record<string, unknown>) => ({
      id,
      name: 'Typed',
      triggers: [{ type: 'event', event: `go_${s}` }],
      steps: [
        { id: 'fork', type: 'branch', cases: [{ condition, next: 'hello' }], else: 'hello' },
        { id: 'hello', type: 'sendEmail', template: 'welcome' },
      ],
    });
    // `seats` is a number: "5" never equals the stored 5.
    const text = branching(`seats-${s}`, { type: 'equals', field: 'contact.seats', value: '5' });
    const refused = expectProblem(await api.post('/v1/journeys', text), [
      '/steps/0/cases/0/condition/value',
    ]);
    expect(refused.errors[0]?.code).toBe('type-mismatch');
    expectProblem(await api.post('/v1/journeys/validate', text), [
      '/steps/0/cases/0/condition/value',
    ]);
    expect((await api.get(`/v1/journeys/seats-${s}`)).status).toBe(404);
    const number = branching(`seats-${s}`, { type: 'equals', field: 'contact.seats', value: 5 });
    expect((await api.post('/v1/journeys', number)).status).toBe(201);

    // A date trigger on a text attribute would never fire.
    const dated = await api.post('/v1/journeys', {
      id: `dated-${s}`,
      name: 'Dated',
      triggers: [{ type: 'date', attribute: 'nickname' }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(expectProblem(dated, ['/triggers/0/attribute']).errors[0]?.code).toBe('type-mismatch');

    // An undeclared attribute may be a contact's while the workspace stores undeclared traits;
    // once it refuses them, no contact can have it.
    const loose = branching(`shoe-${s}`, { type: 'equals', field: 'contact.shoe', value: 'red' });
    expect((await api.post('/v1/journeys', loose)).status).toBe(201);
    expect((await put(api, '/v1/attribute-policy', { unknownAttributes: 'reject' })).status).toBe(
      200,
    );
    try {
      const strict = { ...loose, id: `shoe-strict-${s}` };
      const unknown = expectProblem(await api.post('/v1/journeys', strict), [
        '/steps/0/cases/0/condition/field',
      ]);
      expect(unknown.errors[0]?.code).toBe('unknown-attribute');
    } finally {
      await put(api, '/v1/attribute-policy', { unknownAttributes: 'store' });
    }
  });

  it('rejects undeclared attributes once the workspace says so', async () => {
    const s = uniqueSuffix();
    expect((await writer.get('/v1/attribute-policy')).body).toEqual({ unknownAttributes: 'store' });
    expect(
      (await put(writer, '/v1/attribute-policy', { unknownAttributes: 'reject' })).status,
    ).toBe(403);
    expectProblem(await put(api, '/v1/attribute-policy', { unknownAttributes: 'drop' }), [
      '/unknownAttributes',
    ]);
    await api.post('/v1/identify', { userId: `p-${s}`, traits: { favouriteColour: 'red' } });
    expect((await api.get(`/v1/contacts/p-${s}`)).body).toMatchObject({ favouriteColour: 'red' });

    expect((await put(api, '/v1/attribute-policy', { unknownAttributes: 'reject' })).body).toEqual({
      unknownAttributes: 'reject',
    });
    const refused = await api.post('/v1/identify', {
      userId: `q-${s}`,
      traits: { email: `q.${s}@example.com`, firstName: 'Q', favouriteColour: 'red', shoe: null },
    });
    const problem = expectProblem(refused, ['/traits/favouriteColour', '/traits/shoe']);
    expect(problem.errors[0]?.code).toBe('unknown-attribute');
    expect((await api.get(`/v1/contacts/q-${s}`)).status).toBe(404);
    // Built-in traits and declared attributes still go through.
    const fine = await api.post('/v1/identify', {
      userId: `q-${s}`,
      traits: { email: `q.${s}@example.com`, firstName: 'Q', plan: 'pro' },
    });
    expect(fine.status).toBe(200);
    const csv = await api.request('POST', '/v1/contacts/import', {
      body: `email,shoeSize\nr.${s}@example.com,42\n`,
      headers: { 'content-type': 'text/csv' },
    });
    expect(await csv.json()).toMatchObject({
      imported: 0,
      rejected: [{ row: 2, reason: expect.stringContaining('`shoeSize`') as unknown }],
    });
    expect((await put(api, '/v1/attribute-policy', { unknownAttributes: 'store' })).status).toBe(
      200,
    );
  });
});
