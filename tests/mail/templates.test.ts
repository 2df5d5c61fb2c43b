import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplates, TemplateError, type TemplateStore } from '../../mail/index.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf } from '../support/mailbox.js';
import { createWorkspace } from '../api/workspaces.js';

/** Templates: layouts, partials, helpers in the contact's locale and zone, CSS inlined, RTL. */
describe('email templates', () => {
  let store: TemplateStore;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drumbeat-templates-'));
    await mkdir(join(dir, 'layouts'));
    await mkdir(join(dir, 'partials'));
    await writeFile(
      join(dir, 'layouts', 'default.hbs'),
      '<html lang="{{lang}}"><head><style>.cta { color: #ff0000; }</style></head><body>{{body}}</body></html>',
    );
    await writeFile(
      join(dir, 'partials', 'signature.hbs'),
      '<p>— {{default sender "The team"}}</p>',
    );
    await writeFile(
      join(dir, 'event.hbs'),
      `---
subject: {{contact.firstName}}, your seat for {{formatDate event.properties.startsAt style="long"}}
preheader: Starts {{formatDate event.properties.startsAt style="short" time=true}}
---
<p>Hello {{default contact.firstName "there"}}</p>
{{#if (gt event.properties.seats 1)}}<p>{{formatNumber event.properties.seats}} seats</p>{{/if}}
<p>Total {{formatNumber event.properties.price currency="EUR"}}</p>
<a class="cta" href="https://example.com/a?x=1&amp;y=2">Join</a>
{{> signature}}
<p>{{contact.bio}}</p>`,
    );
    store = await loadTemplates(dir);
  });

  const event = {
    name: 'registered',
    properties: { startsAt: '2026-03-05T23:30:00Z', seats: 1200, price: 49.5 },
  };

  it('formats dates and numbers in the contact’s locale and time zone, and inlines CSS', () => {
    const out = store.render('event', {
      contact: {
        firstName: 'Ada',
        locale: 'de-DE',
        timezone: 'Europe/Berlin',
        bio: '<script>x</script>',
      },
      event,
    });
    // 23:30 UTC is already the 6th in Berlin.
    expect(out.subject).toBe('Ada, your seat for 6. März 2026');
    expect(out.preheader).toBe('Starts 06.03.26, 00:30');
    expect(out.html).toContain('1.200 seats');
    expect(out.html).toContain('49,50');
    expect(out.html).toMatch(/<a class="cta" href="[^"]+" style="color: #ff0000;?">/);
    expect(out.html).toContain('&lt;script&gt;');
    expect(out.html).toContain('— The team');
    expect(out.text).toContain('Join (https://example.com/a?x=1&y=2)');
    expect(out.text).not.toContain('<p>');
  });

  it('renders Arabic and Persian right to left, and falls back for missing values', () => {
    const ar = store.render('event', { contact: { locale: 'ar-EG' }, event });
    expect(ar.html).toMatch(/<html lang="ar-EG" dir="rtl">/);
    const fa = store.render('event', { contact: { locale: 'fa' }, event });
    expect(fa.html).toContain('dir="rtl"');
    const en = store.render('event', { contact: {}, event });
    expect(en.html).not.toContain('dir="rtl"');
    expect(en.html).toContain('Hello there');
  });

  it('writes a right-to-left locale as lang only when it is a language tag: a locale cannot add HTML', () => {
    const bare = store.compile({
      subject: 'Hi',
      preheader: null,
      layout: 'none',
      html: '<p>Hello {{default contact.firstName "there"}}</p>',
    });
    const render = (locale: string) => store.renderCompiled(bare, { contact: { locale } }).html;
    expect(render('ar-EG')).toBe('<div dir="rtl" lang="ar-EG"><p>Hello there</p></div>');
    // Any contact's locale is a trait an identify call sets.
    const injected = render('ar-x"><img src=x onerror=alert(1)><p x="');
    expect(injected).toBe('<div dir="rtl"><p>Hello there</p></div>');
    expect(injected).not.toContain('<img');
    expect(render('he-" autofocus onfocus="alert(1)')).toBe(
      '<div dir="rtl"><p>Hello there</p></div>',
    );
    // A POSIX spelling is still the language.
    expect(render('fa_IR')).toBe('<div dir="rtl" lang="fa-IR"><p>Hello there</p></div>');
  });

  it('cannot reach prototypes or the file system', () => {
    const evil = store.compile({
      subject: '{{constructor.name}}{{__proto__}}',
      preheader: null,
      layout: 'none',
      html: '{{#with contact}}{{constructor.constructor}}{{/with}}{{lookup contact "__proto__"}}',
    });
    const out = store.renderCompiled(evil, { contact: { a: 1 } });
    expect(out.subject).toBe('');
    expect(out.html.trim()).toBe('');
    // A partial that is not registered (a path least of all) is refused when compiled.
    expect(() =>
      store.compile({
        subject: 'x',
        preheader: null,
        layout: 'none',
        html: '{{> ../../etc/passwd}}',
      }),
    ).toThrow(TemplateError);
    expect(() =>
      store.compile({ subject: '{{#if}}', preheader: null, layout: null, html: 'x' }),
    ).toThrow(/syntax error/);
  });
});

describe('templates API', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('stores versions and previews HTML and text for sample data or a contact, without sending', async () => {
    const name = `promo-${uniqueSuffix()}`;
    const created = await api.post('/v1/templates', {
      name,
      subject: 'Hi {{contact.firstName}}',
      html: '<p>Version one for {{default contact.firstName "you"}}</p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
    });
    expect(created.status).toBe(201);
    const res = await api.request('PUT', `/v1/templates/${name}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'Hello {{contact.firstName}}', html: '<p>Version two</p>' }),
    });
    expect(res.status).toBe(200);
    const versions = await api.get(`/v1/templates/${name}/versions`);
    expect((versions.body as { data: { version: number }[] }).data.map((v) => v.version)).toEqual([
      2, 1,
    ]);

    const preview = await api.post(`/v1/templates/${name}/preview`, {
      contact: { firstName: 'Lin' },
      version: 1,
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ subject: 'Hi Lin' });
    const body = preview.body as { html: string; text: string };
    expect(body.html).toContain('Version one for Lin');
    expect(body.html).toMatch(/\/u\/[A-Za-z0-9_-]+\./);
    expect(body.text).toContain('Version one for Lin');

    const file = await api.post('/v1/templates/welcome/preview', { contact: { firstName: 'Ada' } });
    expect(file.body).toMatchObject({ subject: 'Welcome to Drumbeat, Ada!' });

    const broken = await api.post('/v1/templates', {
      name: `${name}-x`,
      subject: 'x',
      html: '{{#each}}',
    });
    expect(broken.status).toBe(422);
    expect(broken.contentType).toMatch(/problem\+json/);
    expect(broken.body).toMatchObject({ errors: [{ pointer: '/html', code: 'template-invalid' }] });
    // The pointer names the part at fault: the subject, the layout, an unsaved template's part.
    const badSubject = await api.post('/v1/templates', {
      name: `${name}-y`,
      subject: 'Hi {{#if}}',
      html: '<p>x</p>',
    });
    expect(badSubject.body).toMatchObject({ errors: [{ pointer: '/subject' }] });
    const badLayout = await api.post('/v1/templates', {
      name: `${name}-z`,
      subject: 'Hi',
      layout: 'nope',
      html: '<p>x</p>',
    });
    expect(badLayout.body).toMatchObject({ errors: [{ pointer: '/layout' }] });
    // A helper or partial that does not exist is found when the template is saved, not at
    // every send after it: Handlebars would only fail when rendering.
    const typo = await api.post('/v1/templates', {
      name: `${name}-h`,
      subject: 'Hi',
      html: '<p>{{formatdate event.properties.startsAt style="long"}}</p>',
    });
    expect(typo.status, JSON.stringify(typo.body)).toBe(422);
    expect(typo.body).toMatchObject({ errors: [{ pointer: '/html', code: 'template-invalid' }] });
    expect(JSON.stringify(typo.body)).toContain('formatDate');
    const nested = await api.post('/v1/templates', {
      name: `${name}-n`,
      subject: '{{upper (shout contact.firstName)}}',
      html: '<p>x</p>',
    });
    expect(nested.body).toMatchObject({ errors: [{ pointer: '/subject' }] });
    const partial = await api.post('/v1/templates', {
      name: `${name}-p`,
      subject: 'Hi',
      html: '<p>{{> footr}}</p>',
    });
    expect(partial.body).toMatchObject({ errors: [{ pointer: '/html' }] });
    // Values, built-in helpers, block sections over a value, options alone (rendered as
    // nothing) and the template's own inline partials all render: none is refused.
    const fine = await api.post('/v1/templates', {
      name: `${name}-ok`,
      subject: '{{contact.firstName}} {{plan}}',
      html:
        '{{#if contact.vip}}VIP{{/if}}{{#each items}}{{@index}}{{this}}{{../plan}}{{else}}none{{/each}}' +
        '{{#contact}}{{email}}{{/contact}}{{lookup contact "email"}}{{badge style="x"}}' +
        '{{#*inline "cta"}}<a href="{{url}}">Go</a>{{/inline}}{{> cta}}',
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(201);
    const unsaved = await api.post(`/v1/templates/${name}/preview`, {
      template: { subject: 'Hi {{#if}}', html: '<p>x</p>' },
      contact: { firstName: 'Lin' },
    });
    expect(unsaved.status, JSON.stringify(unsaved.body)).toBe(422);
    expect(unsaved.body).toMatchObject({ errors: [{ pointer: '/template/subject' }] });
    expect(await mailboxOf(api, 'preview@example.com')).toEqual([]);
  });

  it("keeps a workspace's stored templates its own: listing, names and journey references", async () => {
    const name = `own-${uniqueSuffix()}`;
    const other = await createWorkspace(api, `templates ${name}`);
    const template = { name, subject: 'Hi', html: '<p>Hi</p>' };
    expect((await api.post('/v1/templates', template)).status).toBe(201);
    const journey = {
      id: `uses-${name}`,
      name: 'Uses it',
      triggers: [{ type: 'event', event: 'x' }],
      steps: [{ id: 'mail', type: 'sendEmail', template: name }],
    };
    expect((await api.post('/v1/journeys/validate', journey)).status).toBe(200);

    // The other workspace neither sees the name nor may use it, and may store its own.
    const listed = (await other.api.get('/v1/templates')).body as { data: { name: string }[] };
    expect(listed.data.map((t) => t.name)).not.toContain(name);
    const refused = await other.api.post('/v1/journeys/validate', journey);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain(name);
    expect((await other.api.post('/v1/templates', template)).status).toBe(201);
    expect((await other.api.post('/v1/journeys/validate', journey)).status).toBe(200);
  });
});
