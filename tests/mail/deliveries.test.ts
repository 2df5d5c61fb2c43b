import { describe, expect, it } from 'vitest';
import { expectProblem } from '../contacts/support.js';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import {
  engineWithCapture,
  enrollInOffer,
  expectOfferOutcomes,
  publishOfferJourney,
} from './support.js';

interface TimelineItem {
  kind: string;
  detail: { name?: string; properties?: Record<string, unknown> };
}

/**
 * A relay reports a delivery through the inbound mail-events webhook of a running engine, with
 * the Message-ID of the email a real SMTP server in the test process received. It becomes the
 * contact's `email.delivered` event for the enrollment and step that sent the email, so
 * `emailActivity` sees `delivered` on that step; it suppresses nothing. A delivery is only
 * about one email: one without a Message-ID refuses the batch; one naming an email Drumbeat
 * did not send is left out, and the reports beside it still apply.
 */
describe.each(databaseVariants())('deliveries from the relay webhook (%s database)', (variant) => {
  const suite = engineWithCapture(variant);

  it('a delivery naming the email takes the journey down the delivered branch and suppresses nothing', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Deliveries ${suffix}`);
    await publishOfferJourney(ws.api, suffix, {
      cases: [{ activity: 'delivered', next: 'follow-up' }],
      otherwise: 'check-address',
      outcomes: [
        { id: 'follow-up', tag: 'offer-delivered' },
        { id: 'check-address', tag: 'offer-unconfirmed' },
      ],
    });

    const [delivered, unreported] = ['delivered', 'unreported'].map((who) => ({
      userId: `${who}-${suffix}`,
      email: `${who}.${suffix}@example.com`,
    }));
    if (!delivered || !unreported) throw new Error('two contacts');
    await enrollInOffer(ws.api, suffix, [delivered, unreported]);
    const [arrived] = await suite.capture.waitFor(delivered.email);
    const messageId = arrived?.parsed.messageId;
    if (!messageId) throw new Error(`no Message-ID on the email to ${delivered.email}`);
    await suite.capture.waitFor(unreported.email);

    // Relays repeat reports, not always spelled alike (brackets are optional): the repeat is
    // the same event.
    for (const spelling of [messageId, messageId.replace(/^<|>$/g, '')]) {
      const report = {
        events: [{ type: 'delivery', email: delivered.email, messageId: spelling }],
      };
      const reported = await ws.api.post('/v1/mail-events', report);
      expect(reported.status, JSON.stringify(reported.body)).toBe(200);
      expect(reported.body).toEqual({ received: 1, suppressed: 0 });
    }

    const timeline = await ws.api.get(`/v1/contacts/${delivered.userId}/timeline`);
    const deliveries = (timeline.body as { data: TimelineItem[] }).data.filter(
      (i) => i.kind === 'event' && i.detail.name === 'email.delivered',
    );
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.detail.properties).toMatchObject({
      email: delivered.email,
      step: 'offer',
    });
    const subscriptions = await ws.api.get(`/v1/contacts/${delivered.userId}/subscriptions`);
    const statuses = (subscriptions.body as { subscriptions: { status: string }[] }).subscriptions;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.map((s) => s.status)).toEqual(statuses.map(() => 'subscribed'));

    await expectOfferOutcomes(ws.api, suffix, [
      [delivered, 'follow-up'],
      [unreported, 'check-address'],
    ]);
  });

  it('refuses a delivery without a Message-ID, and leaves out one of an email Drumbeat did not send', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Bad deliveries ${suffix}`);
    const userId = `someone-${suffix}`;
    const email = `someone.${suffix}@example.com`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    const timelineNames = async () => {
      const timeline = await ws.api.get(`/v1/contacts/${userId}/timeline`);
      return (timeline.body as { data: TimelineItem[] }).data.map((i) => i.detail.name);
    };
    const statuses = async () => {
      const subscriptions = await ws.api.get(`/v1/contacts/${userId}/subscriptions`);
      return (subscriptions.body as { subscriptions: { status: string }[] }).subscriptions.map(
        (s) => s.status,
      );
    };

    const refused = await ws.api.post('/v1/mail-events', {
      events: [
        { type: 'bounce', bounceType: 'hard', email },
        { type: 'delivery', email },
      ],
    });
    expectProblem(refused, ['/events/1/messageId']);
    // The bounce in the refused batch was not applied either.
    expect(new Set(await statuses())).toEqual(new Set(['subscribed']));
    expect(await timelineNames()).not.toContain('email.bounced');

    // Another system's delivery beside a bounce: the bounce is applied, the delivery left out.
    const mixed = await ws.api.post('/v1/mail-events', {
      events: [
        { type: 'delivery', email, messageId: '<not-ours@elsewhere.example>' },
        { type: 'bounce', bounceType: 'hard', email },
      ],
    });
    expect(mixed.status).toBe(200);
    const answer = mixed.body as {
      suppressed: number;
      ignored: { index: number; reason: string }[];
    };
    expect(answer.suppressed).toBe(1);
    expect(answer.ignored.map((i) => i.index)).toEqual([0]);
    expect(answer.ignored[0]?.reason).toContain('not-ours@elsewhere.example');
    const names = await timelineNames();
    expect(names).toContain('email.bounced');
    expect(names).not.toContain('email.delivered');

    // A report type the endpoint does not know names the ones it does.
    const unknown = await ws.api.post('/v1/mail-events', { events: [{ type: 'open', email }] });
    const [wrongType] = expectProblem(unknown, ['/events/0/type']).errors;
    expect(wrongType?.detail).toContain('`delivery`');
  });
});
