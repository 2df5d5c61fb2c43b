import { readFile } from 'node:fs/promises';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSigner } from '../../mail/index.js';
import { createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

const SECRET_KEY = 'tracking-test-secret-key-0123456789abcdef';
const PRICING = 'https://shop.example.com/pricing?plan=pro&ref=mail';
const DOCS = 'https://docs.example.com/start';

interface TimelineItem {
  kind: string;
  detail: { name?: string; rule?: string; points?: number; properties?: Record<string, unknown> };
}
interface Score {
  model: string;
  engagement: number;
  explanation: { engagement: { rule: string; events: number; points: number }[] };
}

/**
 * Open and click tracking end to end on the real engine: a workspace that turned tracking on
 * gets a journey email (through the engine's SMTP sink) with an open pixel and rewritten links;
 * requesting them records `email.opened` and `email.clicked` for the contact, which the
 * contact's timeline shows and the default scoring model scores. Tokens are signed and a click
 * only redirects to a URL that was in that message. Without tracking, nothing is added. An
 * open feeds the journey's `emailActivity` conditions for that email's step.
 */
describe.each(databaseVariants())('open and click tracking (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let operator: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant, { SECRET_KEY });
    operator = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  /**
   * A workspace of its own with a two-link template and a journey that sends it (step
   * `offer`), then goes on with the steps `then` gives for that template.
   */
  async function workspaceSending(
    tracking: boolean,
    then: (template: string, suffix: string) => unknown[] = () => [],
  ) {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(operator, `Tracking ${suffix}`);
    if (tracking)
      await engine.deps.prisma.messagingPolicy.create({
        data: { workspaceId: ws.id, trackOpens: true, trackClicks: true },
      });
    const template = `offer-${suffix}`;
    const stored = await ws.api.post('/v1/templates', {
      name: template,
      subject: 'Your offer, {{contact.firstName}}',
      html:
        '<p>Hi {{contact.firstName}},</p>' +
        `<p><a href="${PRICING.replace('&', '&amp;')}">See pricing</a></p>` +
        `<p><a href="${DOCS}">Get started</a></p>`,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const event = `trial_started_${suffix}`;
    const journey = await ws.api.post('/v1/journeys', {
      id: `offer-${suffix}`,
      name: 'Offer',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'offer', type: 'sendEmail', template }, ...then(template, suffix)],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    return { ws, suffix, event };
  }

  async function sendTo(
    ws: OtherWorkspace,
    suffix: string,
    event: string,
  ): Promise<{ userId: string; email: string; contactId: string; mail: ParsedMail }> {
    const userId = `u-${suffix}`;
    const email = `reader.${suffix}@example.com`;
    await ws.api.post('/v1/identify', { userId, traits: { email, firstName: 'Noor' } });
    const tracked = await ws.api.post('/v1/track', { userId, event });
    expect(tracked.status).toBe(200);
    const [message] = await waitForMail(operator, email);
    const raw = await (
      await operator.request('GET', `/v1/mailbox/${message?.id ?? ''}/raw`)
    ).text();
    const contact = await engine.deps.prisma.contact.findFirstOrThrow({
      where: { workspaceId: ws.id, userId },
    });
    return { userId, email, contactId: contact.id, mail: await simpleParser(raw) };
  }

  /** The path and query of a link in an email (PUBLIC_URL's port is not the test's). */
  const local = (url: string) => {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  };
  const eventsOf = (contactId: string, name: string) =>
    engine.deps.prisma.event.findMany({
      where: { contactId, name },
      orderBy: { timestamp: 'asc' },
    });

  it('records opens and clicks from the pixel and the rewritten links, scored and on the timeline', async () => {
    const { ws, suffix, event } = await workspaceSending(true);
    const scoringModel: unknown = JSON.parse(
      await readFile(new URL('../../examples/default-scoring-model.json', import.meta.url), 'utf8'),
    );
    const model = await ws.api.post('/v1/scoring-models', scoringModel);
    expect(model.status, JSON.stringify(model.body)).toBe(201);

    const { userId, contactId, mail } = await sendTo(ws, suffix, event);
    const html = typeof mail.html === 'string' ? mail.html : '';
    const pixels = [...html.matchAll(/<img src="([^"]+\/t\/o\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(pixels).toHaveLength(1);
    const clicks = [...html.matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(clicks).toHaveLength(2);
    // The originals are gone from the HTML; the unsubscribe link is left as it is.
    expect(html).not.toContain('shop.example.com');
    expect(html).not.toContain(DOCS);
    expect(html).toMatch(/href="[^"]+\/u\/[^"]+"/);
    const enrollment = await engine.deps.prisma.enrollment.findFirstOrThrow({
      where: { contactId },
    });

    // The pixel answers an image, and the open is recorded once however often it loads.
    const pixel = await fetch(`${operator.baseUrl}${local(pixels[0] ?? '')}`);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toMatch(/^image\/gif/);
    expect(
      Buffer.from(await pixel.arrayBuffer())
        .subarray(0, 6)
        .toString('latin1'),
    ).toBe('GIF89a');
    await fetch(`${operator.baseUrl}${local(pixels[0] ?? '')}`);
    const opened = await eventsOf(contactId, 'email.opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.properties).toMatchObject({
      enrollmentId: enrollment.id,
      step: 'offer',
      category: 'marketing',
    });

    // Each link redirects to the URL it stood for, and each click is recorded with it.
    const targets: string[] = [];
    for (const link of clicks) {
      const res = await fetch(`${operator.baseUrl}${local(link)}`, { redirect: 'manual' });
      expect([302, 303]).toContain(res.status);
      targets.push(res.headers.get('location') ?? '');
    }
    expect(targets).toEqual([PRICING, DOCS]);
    const clicked = await eventsOf(contactId, 'email.clicked');
    expect(clicked.map((e) => e.properties)).toEqual([
      expect.objectContaining({ url: PRICING, enrollmentId: enrollment.id, step: 'offer' }),
      expect.objectContaining({ url: DOCS, enrollmentId: enrollment.id, step: 'offer' }),
    ]);

    // The contact's timeline shows both kinds of event and the points they earned.
    const timeline = await ws.api.get(`/v1/contacts/${userId}/timeline?limit=200`);
    expect(timeline.status).toBe(200);
    const items = (timeline.body as { data: TimelineItem[] }).data;
    const names = items.filter((i) => i.kind === 'event').map((i) => i.detail.name);
    expect(names.filter((n) => n === 'email.opened')).toHaveLength(1);
    expect(names.filter((n) => n === 'email.clicked')).toHaveLength(2);
    const points = items
      .filter((i) => i.kind === 'score')
      .map((i) => [i.detail.rule, i.detail.points])
      .sort();
    expect(points).toEqual([
      ['email-clicked', 3],
      ['email-clicked', 3],
      ['email-opened', 1],
    ]);

    // The default model's rules on email.opened (1 point) and email.clicked (3 points) count them.
    const score = await ws.api.get(`/v1/contacts/${userId}/score`);
    const found = (score.body as { scores: Score[] }).scores.find((s) => s.model === 'default');
    const rules = found?.explanation.engagement
      .filter((r) => r.rule.startsWith('email-'))
      .map((r) => [r.rule, r.events, r.points])
      .sort();
    expect(rules).toEqual([
      ['email-clicked', 2, 6],
      ['email-opened', 1, 1],
    ]);
  });

  it('refuses tampered and forged tokens, and URLs that were not in the message, recording nothing', async () => {
    const { ws, suffix, event } = await workspaceSending(true);
    const { contactId, mail } = await sendTo(ws, suffix, event);
    const html = typeof mail.html === 'string' ? mail.html : '';
    const pixel = local(/<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)?.[1] ?? '');
    const click = local(/href="([^"]+\/t\/c\/[^"]+)"/.exec(html)?.[1] ?? '');
    expect(pixel).toMatch(/^\/t\/o\/[\w-]+\.[\w-]+$/);
    expect(click).toMatch(/^\/t\/c\/[\w-]+\.[\w-]+$/);
    const messageId = /^<([0-9a-f]+)@drumbeat>$/.exec(mail.messageId ?? '')?.[1] ?? '';
    expect(messageId).not.toBe('');

    const tamper = (path: string) => {
      const [body = '', mac = ''] = (path.split('/').pop() ?? '').split('.');
      const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const changed = Buffer.from(
        JSON.stringify({ ...decoded, u: 'https://evil.example.net/', c: 'someone-else' }),
      ).toString('base64url');
      return `${path.slice(0, path.lastIndexOf('/') + 1)}${changed}.${mac}`;
    };
    // One character of the MAC changed; and the MAC's last character moved to a neighbour,
    // which only changes the unused low bits of base64 (a lenient decoder reads the same bytes).
    const flipMac = (path: string) => {
      const at = path.lastIndexOf('.') + 1;
      return `${path.slice(0, at)}${path[at] === 'A' ? 'B' : 'A'}${path.slice(at + 1)}`;
    };
    const pad = (path: string) =>
      path.slice(0, -1) + String.fromCharCode((path.at(-1) ?? 'A').charCodeAt(0) + 1);
    const forger = linkSigner('http://x', 'a-different-secret-key-of-enough-length!!');
    const signer = linkSigner('http://x', SECRET_KEY);

    const refused = [
      tamper(click),
      flipMac(click),
      pad(click),
      local(forger.clickUrl(messageId, DOCS)),
      // Signed with the real key, but this URL was not in the message: no open redirect.
      local(signer.clickUrl(messageId, 'https://evil.example.net/login')),
      // Signed, for a message that was never sent.
      local(signer.clickUrl('0'.repeat(32), DOCS)),
      // An open token is not a click token.
      `/t/c/${pixel.split('/').pop() ?? ''}`,
    ];
    for (const path of refused) {
      const res = await fetch(`${operator.baseUrl}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    // A bad pixel still answers an image (nobody sees an error page), but records nothing.
    for (const path of [
      tamper(pixel),
      flipMac(pixel),
      pad(pixel),
      `/t/o/${click.split('/').pop() ?? ''}`,
    ]) {
      const res = await fetch(`${operator.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\/gif/);
    }
    expect(await eventsOf(contactId, 'email.clicked')).toEqual([]);
    expect(await eventsOf(contactId, 'email.opened')).toEqual([]);
    expect(
      await engine.deps.prisma.event.count({
        where: { workspaceId: ws.id, name: { in: ['email.opened', 'email.clicked'] } },
      }),
    ).toBe(0);

    // The genuine link still works after all that.
    const genuine = await fetch(`${operator.baseUrl}${click}`, { redirect: 'manual' });
    expect(genuine.headers.get('location')).toBe(PRICING);
    expect(await eventsOf(contactId, 'email.clicked')).toHaveLength(1);
  });

  it('branches on emailActivity: an open or a click before the branch picks its path, neither the else path', async () => {
    // Sends the offer, waits until the contact is next seen on the site (at most an hour), then
    // follows up according to what the contact did with the offer.
    const { ws, suffix, event } = await workspaceSending(true, (template, s) => [
      {
        id: 'until-back',
        type: 'waitForEvent',
        event: `site_visited_${s}`,
        timeout: 'PT1H',
        onTimeout: 'opened-offer',
        next: 'opened-offer',
      },
      {
        id: 'opened-offer',
        type: 'branch',
        cases: [
          {
            name: 'opened',
            condition: { type: 'emailActivity', step: 'offer', activity: 'opened' },
            next: 'glad',
          },
          {
            name: 'clicked',
            condition: { type: 'emailActivity', step: 'offer', activity: 'clicked' },
            next: 'clicked',
          },
        ],
        else: 'resend',
      },
      { id: 'glad', type: 'sendEmail', template, subject: 'Glad you had a look', next: 'done' },
      { id: 'clicked', type: 'sendEmail', template, subject: 'Any questions?', next: 'done' },
      { id: 'resend', type: 'sendEmail', template, subject: 'Did you see your offer?' },
      { id: 'done', type: 'exit' },
    ]);
    const reader = await sendTo(ws, `${suffix}-reader`, event);
    const clicker = await sendTo(ws, `${suffix}-clicker`, event);
    const skipper = await sendTo(ws, `${suffix}-skipper`, event);
    const htmlOf = (mail: ParsedMail) => (typeof mail.html === 'string' ? mail.html : '');
    const pixel = local(/<img src="([^"]+\/t\/o\/[^"]+)"/.exec(htmlOf(reader.mail))?.[1] ?? '');
    expect((await fetch(`${operator.baseUrl}${pixel}`)).status).toBe(200);
    expect(await eventsOf(reader.contactId, 'email.opened')).toHaveLength(1);
    // A click without the pixel (images blocked): clicked, not opened.
    const link = local(/href="([^"]+\/t\/c\/[^"]+)"/.exec(htmlOf(clicker.mail))?.[1] ?? '');
    expect((await fetch(`${operator.baseUrl}${link}`, { redirect: 'manual' })).status).toBe(302);
    expect(await eventsOf(clicker.contactId, 'email.clicked')).toHaveLength(1);

    for (const who of [reader, clicker, skipper]) {
      const visit = await ws.api.post('/v1/track', {
        userId: who.userId,
        event: `site_visited_${suffix}`,
      });
      expect(visit.status).toBe(200);
    }
    // The offer and the follow-up.
    const subjects = async (email: string) =>
      (await waitForMail(operator, email, 2, 15_000)).map((m) => m.subject).sort();
    expect(await subjects(reader.email)).toEqual(['Glad you had a look', 'Your offer, Noor']);
    expect(await subjects(clicker.email)).toEqual(['Any questions?', 'Your offer, Noor']);
    expect(await subjects(skipper.email)).toEqual(['Did you see your offer?', 'Your offer, Noor']);
  });

  it('adds no pixel and leaves links alone when the workspace has tracking off', async () => {
    const { ws, suffix, event } = await workspaceSending(false);
    const { mail } = await sendTo(ws, suffix, event);
    const html = typeof mail.html === 'string' ? mail.html : '';
    expect(html).toContain('Hi Noor');
    expect(html).not.toMatch(/\/t\/[oc]\//);
    expect(html).not.toMatch(/<img/);
    expect(html).toContain(`href="${PRICING.replace('&', '&amp;')}"`);
    expect(html).toContain(`href="${DOCS}"`);
  });
});
