import { describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, uniqueSuffix } from '../support/engine.js';
import { refusingInserts } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { engineWithCapture, type Arrived } from './support.js';

interface ContactBody {
  id: string;
  tags?: string[];
  unsubscribed?: boolean;
}

interface SubscriptionsBody {
  subscriptions: { category: string; status: string; changedAt: string | null; source: string }[];
}

/**
 * The unsubscribe links of a sent email act on the contact the email is about now, through
 * real parts: journeys on Temporal mail an SMTP server in the test process, the links are
 * followed over HTTP as a mailbox provider or a reader would. After a merge the contact that
 * stays is unsubscribed and its journeys end; re-subscribing on the preferences page undoes
 * what the unsubscribe set, as the subscriptions API does; after an erase only the address is
 * suppressed and nothing of it is written back.
 */
describe.each(databaseVariants())('unsubscribe links and contacts (%s database)', (variant) => {
  const suite = engineWithCapture(variant);

  /** A marketing email now and another in an hour; the `unsubscribed` tag ends it. */
  const publishNewsletter = async (api: ApiClient, key: string, event: string) => {
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Newsletter',
      triggers: [{ type: 'event', event }],
      suppression: [{ type: 'contains', field: 'tags', value: 'unsubscribed' }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1H' },
        { id: 'tips', type: 'sendEmail', template: 'tips' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
  };

  /** The path of the email's List-Unsubscribe link (`/u/TOKEN`). */
  const unsubscribePath = (mail: Arrived | undefined) => {
    const raw = (mail?.raw ?? '').replace(/\r\n[ \t]+/g, ' ');
    const link = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(raw)?.[1];
    if (!link) throw new Error('the email has no List-Unsubscribe link');
    return new URL(link).pathname;
  };

  const oneClick = async (api: ApiClient, path: string) => {
    const res = await fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
  };

  const enrollmentStatus = async (contactId: string) =>
    (await suite.engine.deps.prisma.enrollment.findFirst({ where: { contactId } }))?.status;

  it('after a merge, the link of an email to the merged-away contact unsubscribes the one that stays and ends its journey', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Merged ${suffix}`);
    const prisma = suite.engine.deps.prisma;
    const event = `read_pricing_${suffix}`;
    await publishNewsletter(ws.api, `news-${suffix}`, event);
    // A visitor who gave the address in a form, and is mailed before signing up.
    const email = `lin.${suffix}@example.com`;
    const anonymousId = `anon-${suffix}`;
    expect(
      (await ws.api.post('/v1/identify', { anonymousId, traits: { email, firstName: 'Lin' } }))
        .status,
    ).toBe(200);
    expect((await ws.api.post('/v1/track', { anonymousId, event })).status).toBe(200);
    const [mail] = await suite.capture.waitFor(email);
    const visitor = await prisma.contact.findFirstOrThrow({
      where: { workspaceId: ws.id, emailKey: email },
    });

    // Signing up with the same address merges the visitor into the new user and deletes it.
    const userId = `lin-${suffix}`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    const stays = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    expect(stays.id).not.toBe(visitor.id);
    expect(await prisma.contact.findUnique({ where: { id: visitor.id } })).toBeNull();
    // The email can arrive before the workflow records its step (`pending` until then).
    await eventually(
      async () => (await enrollmentStatus(stays.id)) === 'active',
      10_000,
      'the enrollment to wait',
    );

    await oneClick(ws.api, unsubscribePath(mail));

    expect(
      await prisma.suppression.findMany({ where: { workspaceId: ws.id, emailKey: email } }),
    ).toMatchObject([{ reason: 'unsubscribed', scope: '*', source: 'one-click' }]);
    expect((await ws.api.get(`/v1/contacts/${userId}`)).body).toMatchObject({
      tags: ['unsubscribed'],
      unsubscribed: true,
    });
    const unsubscribed = await prisma.event.findMany({
      where: { workspaceId: ws.id, name: 'email.unsubscribed' },
    });
    expect(unsubscribed.map((e) => e.contactId)).toEqual([stays.id]);
    expect(
      await eventually(
        async () => (await enrollmentStatus(stays.id)) === 'exited',
        15_000,
        'the enrollment that moved to the staying contact to exit',
      ),
    ).toBe(true);
    expect(suite.capture.to(email)).toHaveLength(1);
  });

  it('unticking "no marketing emails at all" on the preferences page re-subscribes as the subscriptions API does', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Preferences ${suffix}`);
    const prisma = suite.engine.deps.prisma;
    const event = `joined_${suffix}`;
    await publishNewsletter(ws.api, `news-${suffix}`, event);
    const userId = `mo-${suffix}`;
    const email = `mo.${suffix}@example.com`;
    expect(
      (await ws.api.post('/v1/identify', { userId, traits: { email, firstName: 'Mo' } })).status,
    ).toBe(200);
    expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
    const [mail] = await suite.capture.waitFor(email);
    const path = unsubscribePath(mail);
    await oneClick(ws.api, path);
    const contact = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    expect(contact).toMatchObject({ tags: ['unsubscribed'], unsubscribed: true });
    // The event says which email and scope, never the address.
    const [off] = await prisma.event.findMany({
      where: { contactId: contact.id, name: 'email.unsubscribed' },
    });
    expect(off?.properties).toMatchObject({ category: '*', source: 'one-click' });
    expect(JSON.stringify([off?.messageId, off?.properties])).not.toContain(email);
    await eventually(
      async () => (await enrollmentStatus(contact.id)) === 'exited',
      15_000,
      'the enrollment to exit',
    );

    // The page shows "no marketing emails at all" ticked; the reader unticks it and keeps
    // marketing ticked.
    const page = await fetch(`${ws.api.baseUrl}${path}/preferences`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/name="all" value="off" checked/);
    const saved = await fetch(`${ws.api.baseUrl}${path}/preferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'category=marketing',
    });
    expect(saved.status).toBe(200);

    expect(await prisma.suppression.count({ where: { workspaceId: ws.id, emailKey: email } })).toBe(
      0,
    );
    const back = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    expect(back.tags ?? []).not.toContain('unsubscribed');
    expect(back).not.toHaveProperty('unsubscribed');
    const subscriptions = await ws.api.get(`/v1/contacts/${userId}/subscriptions`);
    const all = (subscriptions.body as SubscriptionsBody).subscriptions[0];
    expect(all).toMatchObject({ category: 'all', status: 'subscribed', source: 'preferences' });
    expect(Date.parse(all?.changedAt ?? '')).not.toBeNaN();
    const [on, ...more] = await prisma.event.findMany({
      where: { contactId: contact.id, name: 'email.subscribed' },
    });
    expect(more).toHaveLength(0);
    expect(on?.properties).toMatchObject({ category: '*', source: 'preferences' });

    // A journey whose suppression rule tests the tag mails the contact again.
    const again = `came_back_${suffix}`;
    await publishNewsletter(ws.api, `news-again-${suffix}`, again);
    expect((await ws.api.post('/v1/track', { userId, event: again })).status).toBe(200);
    expect(await suite.capture.waitFor(email, 2)).toHaveLength(2);
  });

  it('a preferences save that fails part-way never leaves the address getting what it turned off', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Half saved ${suffix}`);
    const { sql } = suite.engine.deps;
    const event = `joined_${suffix}`;
    await publishNewsletter(ws.api, `news-${suffix}`, event);
    const userId = `kim-${suffix}`;
    const email = `kim.${suffix}@example.com`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
    const path = unsubscribePath((await suite.capture.waitFor(email))[0]);
    await oneClick(ws.api, path);
    const scopes = async () =>
      (
        await sql.query<{ scope: string }>(
          `SELECT scope FROM suppressions WHERE workspace_id = $1 AND email_key = $2 ORDER BY scope`,
          [ws.id, email],
        )
      ).map((r) => r.scope);
    expect(await scopes()).toEqual(['*']);

    // The reader unticks "no marketing emails at all" and leaves marketing unticked too; the
    // database refuses this address's marketing row (a fault only this address meets).
    await refusingInserts(
      sql,
      'suppressions',
      `NEW.email_key = '${email}' AND NEW.scope = 'marketing'`,
      async () => {
        const saved = await fetch(`${ws.api.baseUrl}${path}/preferences`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        });
        expect(saved.status).toBe(500);
      },
    );
    // Still off for everything: nothing was turned on before what was turned off.
    expect(await scopes()).toEqual(['*']);

    // Saved again once the database is back: marketing off, the rest on.
    const again = await fetch(`${ws.api.baseUrl}${path}/preferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(again.status).toBe(200);
    expect(await scopes()).toEqual(['marketing']);
  });

  it('an unsubscribe or re-subscribe that failed part-way is finished by the next attempt', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Retried ${suffix}`);
    const event = `joined_${suffix}`;
    await publishNewsletter(ws.api, `news-${suffix}`, event);
    const userId = `lu-${suffix}`;
    const email = `lu.${suffix}@example.com`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
    const path = unsubscribePath((await suite.capture.waitFor(email))[0]);
    const { id: contactId } = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    // The email can arrive before the workflow records its step (`pending` until then).
    await eventually(
      async () => (await enrollmentStatus(contactId)) === 'active',
      10_000,
      'the enrollment to wait',
    );

    // The one-click unsubscribe stores the suppression, then its event is refused: the journey
    // the suppression rule ends is not told.
    await refusingInserts(
      suite.engine.deps.sql,
      'events',
      `NEW.contact_id = '${contactId}' AND NEW.name = 'email.unsubscribed'`,
      async () => {
        const res = await fetch(`${ws.api.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        expect(res.status).toBe(500);
      },
    );
    expect(await enrollmentStatus(contactId)).toBe('active');
    // The reader clicks again: the address is unsubscribed already, and its journey ends now.
    await oneClick(ws.api, path);
    await eventually(
      async () => (await enrollmentStatus(contactId)) === 'exited',
      15_000,
      'the enrollment to exit',
    );
    // Its event too, once, however often the link is clicked.
    await oneClick(ws.api, path);
    const named = (name: string) =>
      suite.engine.deps.prisma.event.count({ where: { contactId, name } });
    expect(await named('email.unsubscribed')).toBe(1);

    // A re-subscribe lifts the suppression, then the tag change is refused.
    const resubscribe = () =>
      ws.api.request('PUT', `/v1/contacts/${userId}/subscriptions/all`, {
        body: JSON.stringify({ status: 'subscribed' }),
        headers: { 'content-type': 'application/json' },
      });
    await refusingInserts(
      suite.engine.deps.sql,
      'attribute_changes',
      `NEW.contact_id = '${contactId}' AND NEW.attribute = 'tags'`,
      async () => {
        expect((await resubscribe()).status).toBe(500);
      },
    );
    expect(((await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody).tags).toContain(
      'unsubscribed',
    );
    // The retry finds nothing to lift and takes the tag off, so suppression rules let mail go.
    expect((await resubscribe()).status).toBe(200);
    const back = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    expect(back.tags ?? []).not.toContain('unsubscribed');
    expect(back).not.toHaveProperty('unsubscribed');
    expect(await named('email.subscribed')).toBe(1);
    // Nothing is left to finish: a further re-subscribe changes nothing.
    expect((await resubscribe()).status).toBe(200);
    expect(await named('email.subscribed')).toBe(1);
  });

  it('after an erase, the link suppresses the address and writes nothing back onto the erased contact', async () => {
    const suffix = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Erased ${suffix}`);
    const prisma = suite.engine.deps.prisma;
    const event = `joined_${suffix}`;
    await publishNewsletter(ws.api, `news-${suffix}`, event);
    const userId = `ada-${suffix}`;
    const email = `ada.${suffix}@example.com`;
    expect((await ws.api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    expect((await ws.api.post('/v1/track', { userId, event })).status).toBe(200);
    const [mail] = await suite.capture.waitFor(email);
    const { id: contactId } = (await ws.api.get(`/v1/contacts/${userId}`)).body as ContactBody;
    expect((await ws.api.request('DELETE', `/v1/contacts/${userId}`)).status).toBe(200);

    // Days later the person uses the link in the email they kept.
    await oneClick(ws.api, unsubscribePath(mail));

    // The address is suppressed: that is what keeps mail from it.
    expect(
      await prisma.suppression.findMany({ where: { workspaceId: ws.id, emailKey: email } }),
    ).toMatchObject([{ reason: 'unsubscribed', scope: '*', source: 'one-click' }]);
    // The tombstone gets no tag, no recorded change and no event, and nothing names the address.
    const tombstone = await prisma.contact.findUniqueOrThrow({ where: { id: contactId } });
    expect(tombstone).toMatchObject({ email: null, attributes: {} });
    expect(await prisma.attributeChange.count({ where: { contactId } })).toBe(0);
    expect(await prisma.event.count({ where: { contactId, name: 'email.unsubscribed' } })).toBe(0);
    const events = await suite.engine.deps.sql.query<{ message_id: string; properties: unknown }>(
      `SELECT message_id, properties FROM events WHERE workspace_id = $1`,
      [ws.id],
    );
    expect(JSON.stringify(events)).not.toContain(email);
  });
});
