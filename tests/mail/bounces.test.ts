import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import {
  engineWithCapture,
  enrollInOffer,
  expectOfferOutcomes,
  publishOfferJourney,
} from './support.js';

interface TimelineItem {
  kind: string;
  detail: { name?: string; properties?: Record<string, unknown>; status?: string };
}

/**
 * A relay reports a hard bounce through the inbound mail-events webhook of a running engine
 * (a real HTTP call with an API key). The address is suppressed, the bounce is the contact's
 * `email.bounced` event, dotted like every other email event, and the next marketing email
 * of a journey is never handed to the SMTP server (a real one in the test process) for it,
 * while the same journey mails another contact. A bounce or complaint that gives the email's
 * Message-ID reaches the enrollment that sent it: `emailActivity` sees it on that step.
 */
describe.each(databaseVariants())('bounces from the relay webhook (%s database)', (variant) => {
  const suite = engineWithCapture(variant);

  it('suppresses a hard-bounced address, records email.bounced, and sends it no more marketing email', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Bounces ${suffix}`);
    const event = `promo_${suffix}`;
    const published = await ws.api.post('/v1/journeys', {
      id: `promo-${suffix}`,
      name: 'Promotion',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'offer', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const gone = `gone.${suffix}@example.com`;
    const kept = `kept.${suffix}@example.com`;
    for (const [userId, email] of [
      [`gone-${suffix}`, gone],
      [`kept-${suffix}`, kept],
    ] as const)
      expect(
        (await ws.api.post('/v1/identify', { userId, traits: { email, firstName: 'Noor' } }))
          .status,
      ).toBe(200);

    // As a relay reports it: the address in other case, as mailbox providers often echo it.
    const report = { events: [{ type: 'bounce', bounceType: 'hard', email: gone.toUpperCase() }] };
    const reported = await ws.api.post('/v1/mail-events', report);
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    expect(reported.body).toEqual({ received: 1, suppressed: 1 });
    // Sent again whole, as a relay retries a request that failed (no Message-ID, no request
    // id): the bounce is recorded once.
    expect((await ws.api.post('/v1/mail-events', report)).status).toBe(200);

    const subscriptions = await ws.api.get(`/v1/contacts/gone-${suffix}/subscriptions`);
    const statuses = (subscriptions.body as { subscriptions: { status: string }[] }).subscriptions;
    expect(subscriptions.body).toMatchObject({
      subscriptions: statuses.map(() => ({ status: 'bounced', source: 'webhook' })),
    });
    expect(statuses[0]).toMatchObject({ category: 'all' });
    const timelineOf = async (userId: string) => {
      const res = await ws.api.get(`/v1/contacts/${userId}/timeline`);
      expect(res.status).toBe(200);
      return (res.body as { data: TimelineItem[] }).data;
    };
    const events = (await timelineOf(`gone-${suffix}`)).filter((i) => i.kind === 'event');
    const bounce = events.filter((i) => i.detail.name === 'email.bounced');
    expect(bounce).toHaveLength(1);
    expect(bounce[0]?.detail.properties).toMatchObject({ email: gone.toUpperCase() });

    for (const userId of [`gone-${suffix}`, `kept-${suffix}`])
      expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
    expect(await suite.capture.waitFor(kept)).toHaveLength(1);
    // The bounced contact's send step ran and was skipped for the suppression.
    const skipped = await eventually(
      async () =>
        (await timelineOf(`gone-${suffix}`)).find(
          (i) => i.kind === 'email' && i.detail.status === 'skipped',
        ),
      20_000,
      'the skipped send',
    );
    expect(skipped.detail).toMatchObject({ result: { status: 'suppressed', reason: 'bounced' } });
    const arrived = (address: string) =>
      suite.capture.messages.filter((m) => m.to.some((to) => to.toLowerCase() === address));
    expect(arrived(kept)).toHaveLength(1);
    expect(arrived(gone)).toHaveLength(0);
  });

  it('records a hard bounce after a soft one for the same email, and gives a complaint no bounce type', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Bounce types ${suffix}`);
    const event = `promo_${suffix}`;
    const published = await ws.api.post('/v1/journeys', {
      id: `promo-${suffix}`,
      name: 'Promotion',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'offer', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const full = { userId: `full-${suffix}`, email: `full.${suffix}@example.com` };
    const annoyed = { userId: `annoyed-${suffix}`, email: `annoyed.${suffix}@example.com` };
    const messageIds = new Map<string, string>();
    for (const { userId, email } of [full, annoyed]) {
      expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
      expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
      const [arrived] = await suite.capture.waitFor(email);
      messageIds.set(email, arrived?.parsed.messageId ?? '');
    }
    const report = async (events: Record<string, string>[]) => {
      const res = await ws.api.post('/v1/mail-events', { events });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const messageId = messageIds.get(full.email) ?? '';
    // The mailbox is full for a while (a soft bounce, reported twice), then the relay gives up.
    const soft = { type: 'bounce', bounceType: 'soft', email: full.email, messageId };
    expect(await report([soft])).toEqual({ received: 1, suppressed: 0 });
    expect(await report([soft])).toEqual({ received: 1, suppressed: 0 });
    expect(await report([{ ...soft, bounceType: 'hard' }])).toEqual({
      received: 1,
      suppressed: 1,
    });
    await report([
      { type: 'complaint', email: annoyed.email, messageId: messageIds.get(annoyed.email) ?? '' },
    ]);

    const reportsOf = async (userId: string, name: string) => {
      const res = await ws.api.get(`/v1/contacts/${userId}/timeline`);
      expect(res.status).toBe(200);
      return (res.body as { data: TimelineItem[] }).data
        .filter((i) => i.kind === 'event' && i.detail.name === name)
        .map((i) => i.detail.properties)
        .reverse();
    };
    const bounces = await reportsOf(full.userId, 'email.bounced');
    expect(bounces.map((p) => p?.bounceType)).toEqual(['soft', 'hard']);
    // Tied to the email the journey sent, as every report naming it is.
    expect(bounces[1]).toMatchObject({ step: 'offer', category: 'marketing' });
    const complaints = await reportsOf(annoyed.userId, 'email.complained');
    expect(complaints).toHaveLength(1);
    expect(complaints[0]).not.toHaveProperty('bounceType');
  });

  it('a bounce or a complaint naming the email takes the journey down that branch of emailActivity', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Bounce branches ${suffix}`);
    // Sends the offer, gives the relay until the contact is next seen, then follows up
    // according to what became of the offer (no suppression rule: the journey goes on).
    await publishOfferJourney(ws.api, suffix, {
      cases: [
        { activity: 'bounced', next: 'fix-address' },
        { activity: 'complained', next: 'stop-mailing' },
      ],
      otherwise: 'follow-up',
      outcomes: [
        { id: 'fix-address', tag: 'needs-new-address' },
        { id: 'stop-mailing', tag: 'complained' },
        { id: 'follow-up', tag: 'offer-delivered' },
      ],
    });

    const people = ['bouncer', 'complainer', 'reader'].map((who) => ({
      userId: `${who}-${suffix}`,
      email: `${who}.${suffix}@example.com`,
    }));
    await enrollInOffer(ws.api, suffix, people);
    const [bouncer, complainer, reader] = people;
    if (!bouncer || !complainer || !reader) throw new Error('three contacts');
    const messageIdTo = async (email: string) => {
      const [arrived] = await suite.capture.waitFor(email);
      const id = arrived?.parsed.messageId;
      if (!id) throw new Error(`no Message-ID on the email to ${email}`);
      return id;
    };
    // Relays echo the Message-ID as sent, or without its angle brackets.
    const reported = await ws.api.post('/v1/mail-events', {
      events: [
        {
          type: 'bounce',
          bounceType: 'hard',
          email: bouncer.email,
          messageId: await messageIdTo(bouncer.email),
        },
        {
          type: 'complaint',
          email: complainer.email,
          messageId: (await messageIdTo(complainer.email)).replace(/^<|>$/g, ''),
        },
      ],
    });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    await messageIdTo(reader.email);

    await expectOfferOutcomes(ws.api, suffix, [
      [bouncer, 'fix-address'],
      [complainer, 'stop-mailing'],
      [reader, 'follow-up'],
    ]);
  });

  it('records a report sent with a long X-Request-Id, and records it once when sent again', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Request ids ${suffix}`);
    const userId = `long-${suffix}`;
    const email = `long.${suffix}@example.com`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    // Not a plain token (the request id the API keeps): the body names the delivery instead.
    // Random, so that the database cannot compress it below its index's row limit.
    const headers = { 'x-request-id': randomBytes(2_250).toString('base64url') };
    const report = { events: [{ type: 'bounce', bounceType: 'hard', email }] };
    for (let i = 0; i < 2; i++) {
      const res = await ws.api.post('/v1/mail-events', report, headers);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const timeline = await ws.api.get(`/v1/contacts/${userId}/timeline`);
    const bounces = (timeline.body as { data: TimelineItem[] }).data.filter(
      (i) => i.kind === 'event' && i.detail.name === 'email.bounced',
    );
    expect(bounces).toHaveLength(1);
  });
});
