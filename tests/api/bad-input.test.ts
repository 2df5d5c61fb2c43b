import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  /** Sent as it is (so `__proto__` stays a key, and broken text stays broken). */
  readonly body: string;
  /** The problem code expected in `errors`, when the case has a specific one. */
  readonly code?: string;
}

const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const journey = (template: string) =>
  JSON.stringify({
    id: `bad-${uniqueSuffix()}`,
    name: 'Bad',
    triggers: [{ type: 'event', event: 'x' }],
    steps: [{ id: 'a', type: 'sendEmail', template }],
  });

const CASES: readonly Case[] = [
  // wrong types
  { name: 'event name is a number', path: '/v1/track', body: '{"userId":"u","event":123}' },
  { name: 'userId is an object', path: '/v1/identify', body: '{"userId":{"$ne":null}}' },
  { name: 'traits is an array', path: '/v1/identify', body: '{"userId":"u","traits":[1,2]}' },
  { name: 'body is an array', path: '/v1/track', body: '[{"userId":"u","event":"e"}]' },
  { name: 'body is a string', path: '/v1/journeys', body: '"journey"' },
  // a query flag other than true or false: `?draft=1` published the journey live
  {
    name: 'a draft flag of 1',
    path: '/v1/journeys?draft=1',
    body: journey('welcome'),
    code: 'bad-value',
  },
  {
    name: 'timestamp is not a date',
    path: '/v1/track',
    body: '{"userId":"u","event":"e","timestamp":"yesterday"}',
  },
  // RFC 3339 forms JavaScript cannot read: they were accepted and then failed as a 500
  {
    name: 'timestamp with an offset in hours only',
    path: '/v1/track',
    body: '{"userId":"u","event":"e","timestamp":"2025-06-01T09:00:00-05"}',
    code: 'bad-format',
  },
  {
    name: 'timestamp on a leap second',
    path: '/v1/identify',
    body: '{"userId":"u","timestamp":"2016-12-31T23:59:60Z"}',
    code: 'bad-format',
  },
  // Dates whose offset carries them out of the years PostgreSQL stores: they passed validation,
  // the identify applied its traits, and storing the event failed as a 500
  {
    name: 'timestamp in year 0 once in UTC',
    path: '/v1/identify',
    body: '{"userId":"u-year0","traits":{"plan":"pro"},"timestamp":"0001-01-01T00:00:00+01:00"}',
    code: 'bad-format',
  },
  {
    name: 'timestamp in year 10000 once in UTC',
    path: '/v1/track',
    body: '{"userId":"u-year10000","event":"e","timestamp":"9999-12-31T23:59:59-05:00"}',
    code: 'bad-format',
  },
  {
    name: 'a task due in year 0',
    path: '/v1/tasks',
    body: '{"title":"Call","dueAt":"0000-12-31T23:00:00Z"}',
    code: 'bad-format',
  },
  {
    name: 'an email attribute too long to send to (or index)',
    path: '/v1/contacts',
    body: JSON.stringify({
      userId: 'u-long-email',
      attributes: { email: `a@${'b'.repeat(2800)}.com` },
    }),
  },
  {
    name: 'a template version beyond any stored',
    path: '/v1/templates/welcome/preview',
    body: '{"version":10000000000}',
  },
  { name: 'unknown key scope', path: '/v1/api-keys', body: '{"name":"k","scope":"root"}' },
  {
    name: 'mapping is a string',
    path: '/v1/webhook-sources',
    body: '{"name":"s","verification":"hmac-sha256","mapping":"/a"}',
  },
  // huge strings
  {
    name: 'userId of 10,000 characters',
    path: '/v1/track',
    body: JSON.stringify({ userId: 'u'.repeat(10_000), event: 'e' }),
  },
  {
    name: 'event name of 100,000 characters',
    path: '/v1/track',
    body: JSON.stringify({ userId: 'u', event: 'e'.repeat(100_000) }),
  },
  {
    name: 'a body of 2 MB',
    path: '/v1/identify',
    body: JSON.stringify({ userId: 'u', traits: { bio: 'x'.repeat(2_000_000) } }),
  },
  // deep nesting
  {
    name: 'properties nested 200 levels deep',
    path: '/v1/track',
    body: `{"userId":"u","event":"e","properties":${nested(200)}}`,
    code: 'too-deep',
  },
  { name: 'a journey nested 5,000 levels deep', path: '/v1/journeys', body: nested(5_000) },
  // unicode edge cases
  {
    name: 'a lone surrogate in userId',
    path: '/v1/track',
    body: '{"userId":"\\ud800","event":"e"}',
    code: 'unstorable-text',
  },
  {
    name: 'a NUL character in an event name',
    path: '/v1/track',
    body: '{"userId":"u","event":"a\\u0000b"}',
    code: 'unstorable-text',
  },
  {
    name: 'a NUL character in a trait name',
    path: '/v1/identify',
    body: '{"userId":"u","traits":{"a\\u0000":1}}',
    code: 'unstorable-text',
  },
  {
    name: 'a reversed surrogate pair',
    path: '/v1/identify',
    body: '{"userId":"u","traits":{"n":"\\udc00\\ud800"}}',
    code: 'unstorable-text',
  },
  // numbers JSON can write but not hold
  {
    name: 'a property of 1e400',
    path: '/v1/track',
    body: '{"userId":"u","event":"e","properties":{"amount":1e400}}',
    code: 'number-out-of-range',
  },
  {
    name: 'a trait of -1e999 in a batch',
    path: '/v1/batch',
    body: '{"batch":[{"type":"identify","userId":"u","traits":{"ltv":-1e999}}]}',
    code: 'number-out-of-range',
  },
  // prototype pollution
  {
    name: '__proto__ at the top level',
    path: '/v1/identify',
    body: '{"userId":"u","__proto__":{"polluted":true}}',
    code: 'forbidden-key',
  },
  {
    name: '__proto__ in traits',
    path: '/v1/identify',
    body: '{"userId":"u","traits":{"__proto__":{"polluted":true}}}',
    code: 'forbidden-key',
  },
  {
    name: 'constructor.prototype in properties',
    path: '/v1/track',
    body: '{"userId":"u","event":"e","properties":{"constructor":{"prototype":{"polluted":true}}}}',
    code: 'forbidden-key',
  },
  {
    name: '__proto__ in a journey',
    path: '/v1/journeys',
    body: '{"__proto__":{"status":"active"},"id":"p"}',
    code: 'forbidden-key',
  },
  {
    name: '__proto__ in a webhook mapping',
    path: '/v1/webhook-sources',
    body: '{"name":"s","verification":"hmac-sha256","mapping":{"event":"/e","__proto__":{"x":1}}}',
    code: 'forbidden-key',
  },
  // injection attempts in template fields
  {
    name: 'a path traversal as template name',
    path: '/v1/journeys',
    body: journey('../../../etc/passwd'),
  },
  {
    name: 'a Handlebars expression as template name',
    path: '/v1/journeys',
    body: journey("{{constructor.constructor('return process')()}}"),
  },
  {
    name: 'markup as template name',
    path: '/v1/journeys',
    body: journey('<script>alert(1)</script>'),
  },
  { name: 'SQL as template name', path: '/v1/journeys', body: journey("welcome' OR '1'='1") },
  {
    name: 'a Handlebars partial as template name',
    path: '/v1/journeys',
    body: journey('{{> layouts/base}}'),
  },
];

/** Bad input of every kind: always a 4xx problem, and nothing stored. */
describe('bad input', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  const counts = async () => {
    const p = engine.deps.prisma;
    return {
      events: await p.event.count(),
      contacts: await p.contact.count(),
      journeys: await p.journey.count(),
      apiKeys: await p.apiKey.count(),
      webhookSources: await p.webhookSource.count(),
    };
  };

  it.each(CASES)('refuses $name with a 4xx problem and stores nothing', async (c) => {
    const before = await counts();
    const res = await api.request(c.method ?? 'POST', c.path, {
      body: c.body,
      headers: { 'content-type': 'application/json' },
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(res.status, text.slice(0, 300)).toBeLessThan(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    if (c.code) expect(text).toContain(`"code":"${c.code}"`);
    expect(await counts()).toEqual(before);
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
  });

  it('stores the good messages of a batch and reports the one whose timestamp cannot be read', async () => {
    const userId = `ts-${uniqueSuffix()}`;
    const res = await api.post('/v1/batch', {
      batch: [
        { type: 'track', userId, event: 'first' },
        { type: 'track', userId, event: 'second', timestamp: '2025-06-01T09:00:00+00' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, pointer: '/batch/1/timestamp', code: 'bad-format' }],
    });
    const stored = await engine.deps.prisma.event.findMany({ where: { userId } });
    expect(stored.map((e) => e.name)).toEqual(['first']);
  });

  it('answers a JSON body in a charset other than UTF-8 with a 415 problem', async () => {
    // body-parser refuses it with a 415 of its own, which became a 500 "retry" before.
    const before = await counts();
    const res = await api.request('POST', '/v1/identify', {
      body: '{"userId":"latin1"}',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      errors: [{ pointer: '', code: 'unsupported-charset' }],
    });
    expect(await counts()).toEqual(before);
  });

  it('takes a POST with no body at all, as curl -X POST sends it, without asking for a type', async () => {
    // Neither Content-Length nor a chunked body: it was refused with a 415 "Send JSON".
    // Written by hand: Node's own client adds `Content-Length: 0`, which curl does not.
    const bare = (headers: readonly string[], body = '') =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(api.baseUrl);
        const socket = connect(Number(url.port), url.hostname);
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('end', () => resolve(Number(answer.split(' ')[1])));
        socket.on('error', reject);
        const auth = Object.entries(engine.apiHeaders ?? {}).map(([k, v]) => `${k}: ${v}`);
        socket.end(
          [
            'POST /v1/journeys/no-such-journey/pause HTTP/1.1',
            `Host: ${url.host}`,
            'Connection: close',
            ...auth,
            ...headers,
            '',
            body,
          ].join('\r\n'),
        );
      });
    expect(await bare([])).toBe(404);
    expect(await bare(['Content-Type: text/plain', 'Content-Length: 5'], 'hello')).toBe(415);
  });

  it('says which body type it needs, with a pointer, when the body is not JSON', async () => {
    const res = await api.request('POST', '/v1/track', {
      body: 'userId=u&event=e',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({
      errors: [{ pointer: '', code: 'unsupported-media-type' }],
    });
  });

  it('answers a task filter it cannot read with its pointer instead of ignoring it', async () => {
    for (const [query, pointer] of [
      ['status=Open', '/status'],
      ['status=open&status=done', '/status'],
      ['contactId=a&contactId=b', '/contactId'],
      ['assignee=', '/assignee'],
      ['dueAfter=2026-01-01&dueAfter=2026-02-01', '/dueAfter'],
    ]) {
      const res = await api.get(`/v1/tasks?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body, query).toMatchObject({ errors: [{ pointer, code: 'bad-value' }] });
    }
    expect((await api.get('/v1/tasks?status=open')).status).toBe(200);
  });

  it('answers a due-date filter outside the years 1 to 9999 with its pointer', async () => {
    const res = await api.get('/v1/tasks?dueBefore=0000-01-01');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ errors: [{ pointer: '/dueBefore', code: 'invalid-date' }] });
  });

  it('answers injection attempts in ids with a plain 404', async () => {
    for (const id of ["' OR 1=1 --", '../../etc/passwd', '{{7*7}}', '%00', '\u202egnp.exe'])
      expect((await api.get(`/v1/contacts/${encodeURIComponent(id)}`)).status).toBe(404);
  });

  it('answers a broken %-escape or an encoded NUL in the address with a 400 problem', async () => {
    for (const path of ['/v1/contacts/%E0', '/v1/contacts/%00', '/v1/contacts?tag=%00']) {
      const res = await api.get(path);
      expect(res.status, path).toBe(400);
      expect(res.contentType, path).toMatch(/problem\+json/);
    }
  });

  it('refuses a CSV import with a NUL character (a UTF-16 file) before importing any row', async () => {
    const before = await counts();
    const rows = Array.from({ length: 600 }, (_, i) => `row${i}-${uniqueSuffix()}@example.com`);
    const csv = `email\n${rows.join('\n')}\nbad\u0000row@example.com\n`;
    const res = await api.request('POST', '/v1/contacts/import', {
      body: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('NUL');
    expect(await counts()).toEqual(before);
  });

  it('accepts unusual but valid Unicode as data', async () => {
    const userId = `ü-${uniqueSuffix()}-👩🏽‍💻-\u200d-עברית`;
    const res = await api.post('/v1/identify', { userId, traits: { name: 'Zoë 𝔘𝔫𝔦𝔠𝔬𝔡𝔢' } });
    expect(res.status).toBe(200);
    expect((await api.get(`/v1/contacts/${encodeURIComponent(userId)}`)).body).toMatchObject({
      userId,
    });
  });
});
