import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { createWorkspace } from '../api/workspaces.js';

const DAY = 86_400_000;

interface BacktestAnswer {
  to: string;
  warnings: string[];
  replayed: { events: number; contacts: number; truncated: boolean };
  summary: {
    enrollments: number;
    contacts: number;
    outcomes: Record<string, number>;
    actions: Record<string, number>;
    failed: Record<string, number>;
    suppressed: number;
  };
  steps: {
    id: string;
    entered: number;
    contacts: number;
    actions: number;
    failed: number;
    suppressed: number;
  }[];
  enrollments: {
    userId: string | null;
    outcome: string;
    reason: string | null;
    startedAt: string;
  }[];
}

/**
 * A backtest runs a journey that is not live over what the workspace's contacts really did in
 * a past window: who would have entered, what they would have been sent, who met the goal.
 * Nothing is sent, nothing is stored.
 */
describe.each(databaseVariants())('backtesting a journey (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = (await createWorkspace(apiClient(engine), `backtest-${uniqueSuffix()}`)).api;
  });
  afterAll(async () => engine?.cleanup());

  it('replays the stored events of the window through the journey', async () => {
    const s = uniqueSuffix();
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    const track = async (user: string, event: string, days: number) =>
      expect(
        (
          await api.post('/v1/track', {
            userId: `${user}-${s}`,
            event,
            timestamp: ago(days),
            messageId: `${user}-${event}-${s}`,
          })
        ).status,
      ).toBe(200);
    for (const user of ['ada', 'bob', 'cyd', 'gus'])
      expect(
        (
          await api.post('/v1/identify', {
            userId: `${user}-${s}`,
            traits: { email: `${user}-${s}@example.com` },
            timestamp: ago(20),
          })
        ).status,
      ).toBe(200);
    await track('ada', 'trial_started', 9);
    await track('bob', 'trial_started', 8);
    await track('ada', 'purchased', 5);
    // Before the window: cyd's trial does not count.
    await track('cyd', 'trial_started', 12);
    // Gus asked to be forgotten: his trial is not replayed.
    await track('gus', 'trial_started', 7);
    expect((await api.request('DELETE', `/v1/contacts/gus-${s}`)).status).toBe(200);

    const journey = {
      id: `trial-${s}`,
      name: 'Trial nurture',
      triggers: [{ type: 'event', event: 'trial_started' }],
      goals: [{ id: 'bought', type: 'event', event: 'purchased' }],
      steps: [
        { id: 'hello', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'P7D' },
        { id: 'nudge', type: 'sendEmail', template: 'welcome' },
      ],
    };
    const res = await api.post('/v1/journeys/backtest', {
      journey,
      from: ago(10),
      to: ago(0.5),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as BacktestAnswer;
    expect(body.replayed).toEqual({ events: 3, contacts: 2, truncated: false });
    expect(body.summary).toMatchObject({
      enrollments: 2,
      contacts: 2,
      outcomes: { converted: 1, completed: 1 },
      actions: { sendEmail: 3 },
    });
    expect(body.summary.failed).toEqual({});
    expect(body.warnings).toEqual([]);
    expect(body.steps).toEqual([
      { id: 'hello', entered: 2, contacts: 2, actions: 2, failed: 0, suppressed: 0 },
      { id: 'pause', entered: 2, contacts: 2, actions: 0, failed: 0, suppressed: 0 },
      { id: 'nudge', entered: 1, contacts: 1, actions: 1, failed: 0, suppressed: 0 },
    ]);
    expect(
      body.enrollments.map((e) => [e.userId, e.outcome, e.reason]).sort((a, b) => (a < b ? -1 : 1)),
    ).toEqual([
      [`ada-${s}`, 'converted', 'bought'],
      [`bob-${s}`, 'completed', null],
    ]);

    // A window that ends before bob's week is up: his nudge is not due yet.
    const short = (await api.post('/v1/journeys/backtest', { journey, from: ago(10), to: ago(3) }))
      .body as BacktestAnswer;
    expect(short.summary).toMatchObject({
      outcomes: { converted: 1, running: 1 },
      actions: { sendEmail: 2 },
    });

    // At most one contact: the one with the earliest event, and the answer says it was cut.
    const cut = (
      await api.post('/v1/journeys/backtest', { journey, from: ago(10), maxContacts: 1 })
    ).body as BacktestAnswer;
    expect(cut.replayed).toEqual({ events: 2, contacts: 1, truncated: true });
    expect(cut.enrollments.map((e) => e.userId)).toEqual([`ada-${s}`]);

    // A window that ends in the future ends now: what is still to come has not happened.
    const ahead = await api.post('/v1/journeys/backtest', {
      journey,
      from: ago(10),
      to: new Date(now + 10 * DAY).toISOString(),
    });
    expect(ahead.status).toBe(200);
    expect(Date.parse((ahead.body as BacktestAnswer).to)).toBeLessThanOrEqual(Date.now());
    expect((ahead.body as BacktestAnswer).summary.outcomes).toEqual({ converted: 1, completed: 1 });

    // Nothing was stored or sent: the journey does not exist and no one is enrolled.
    expect((await api.get(`/v1/journeys/trial-${s}`)).status).toBe(404);
    const stored = await engine.deps.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM enrollments e JOIN contacts c ON c.id = e.contact_id
       WHERE c.user_id = ANY($1::text[])`,
      [[`ada-${s}`, `bob-${s}`]],
    );
    expect(stored[0]?.n).toBe(0);
  });

  it('fails an email sent before the contact had an address, as live', async () => {
    const s = uniqueSuffix();
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    const userId = `late-${s}`;
    await api.post('/v1/identify', { userId, traits: { plan: 'trial' }, timestamp: ago(20) });
    await api.post('/v1/track', { userId, event: `signed_up_${s}`, timestamp: ago(8) });
    // The address came five days after the welcome email would have gone.
    await api.post('/v1/identify', {
      userId,
      traits: { email: `${userId}@example.com` },
      timestamp: ago(3),
    });
    const res = await api.post('/v1/journeys/backtest', {
      journey: {
        id: `welcome-${s}`,
        name: 'Welcome',
        triggers: [{ type: 'event', event: `signed_up_${s}` }],
        steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
      },
      from: ago(10),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body as BacktestAnswer).summary.failed).toEqual({ CONTACT_HAS_NO_EMAIL: 1 });
  });

  it('replays no schedule trigger, as it says', async () => {
    const s = uniqueSuffix();
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    await api.post('/v1/identify', {
      userId: `reader-${s}`,
      traits: { email: `reader-${s}@example.com` },
      timestamp: ago(20),
    });
    await api.post('/v1/track', {
      userId: `reader-${s}`,
      event: `browsed_${s}`,
      timestamp: ago(6),
    });
    const res = await api.post('/v1/journeys/backtest', {
      journey: {
        id: `newsletter-${s}`,
        name: 'Newsletter',
        // A send five days ago, inside the window: not replayed, so no one enters by it.
        triggers: [{ type: 'schedule', at: ago(5) }],
        steps: [{ id: 'issue', type: 'sendEmail', template: 'welcome' }],
      },
      from: ago(10),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as BacktestAnswer;
    expect(body.warnings).toEqual(['Schedule triggers are not replayed.']);
    expect(body.summary).toMatchObject({ enrollments: 0, actions: {} });
  });

  it('starts contacts as they were when the window opened, and replays their identify calls', async () => {
    const s = uniqueSuffix();
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    const identify = async (user: string, traits: Record<string, unknown>, days: number) =>
      expect(
        (
          await api.post('/v1/identify', {
            userId: `${user}-${s}`,
            traits,
            timestamp: ago(days),
            messageId: `${user}-${days}-${s}`,
          })
        ).status,
      ).toBe(200);
    // Dan became a pro customer during the window; Eve was one before it; Fay became one
    // during it but left no email address.
    await identify('dan', { email: `dan-${s}@example.com`, plan: 'free' }, 20);
    await identify('dan', { plan: 'pro' }, 6);
    await identify('eve', { email: `eve-${s}@example.com`, plan: 'pro' }, 20);
    await identify('eve', { company: 'Acme' }, 4);
    await identify('fay', { plan: 'free' }, 20);
    await identify('fay', { plan: 'pro' }, 3);

    const journey = {
      id: `pro-${s}`,
      name: 'Pro welcome',
      triggers: [
        { type: 'condition', condition: { type: 'equals', field: 'contact.plan', value: 'pro' } },
      ],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    };
    const res = await api.post('/v1/journeys/backtest', { journey, from: ago(10) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as BacktestAnswer;
    // Dan and Fay started to match in the window (today both match, which said nothing about
    // then); Eve matched already when it opened, and without enrollExisting does not enter.
    expect(body.enrollments.map((e) => e.userId).sort()).toEqual([`dan-${s}`, `fay-${s}`]);
    expect(body.summary.actions).toEqual({ sendEmail: 2 });
    expect(body.summary.failed).toEqual({ CONTACT_HAS_NO_EMAIL: 1 });
    expect(body.steps).toEqual([
      { id: 'hello', entered: 2, contacts: 2, actions: 2, failed: 1, suppressed: 0 },
    ]);
  });

  it('starts tags as they were when the window opened, and replays their changes', async () => {
    const s = uniqueSuffix();
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    // Hal visited two days ago and was tagged vip since: today he is one, then he was not.
    const userId = `hal-${s}`;
    expect(
      (
        await api.post('/v1/identify', {
          userId,
          traits: { email: `${userId}@example.com` },
          timestamp: ago(20),
        })
      ).status,
    ).toBe(200);
    expect(
      (await api.post('/v1/track', { userId, event: 'visited', timestamp: ago(2) })).status,
    ).toBe(200);
    const tagged = Date.now();
    expect((await api.post(`/v1/contacts/${userId}/tags`, { tags: ['vip'] })).status).toBe(200);

    const res = await api.post('/v1/journeys/backtest', {
      journey: {
        id: `vip-${s}`,
        name: 'VIP welcome',
        triggers: [
          { type: 'condition', condition: { type: 'contains', field: 'tags', value: 'vip' } },
        ],
        steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
      },
      from: ago(10),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Judged by today's tags he would have matched at his visit two days ago. As he was then, he
    // did not; the tag, given through the API, is a change of its own (`$contact_changed`), as
    // live, and he starts to match and enters when it was given.
    const entered = (res.body as BacktestAnswer).enrollments;
    expect(entered.map((e) => e.userId)).toEqual([userId]);
    expect(Date.parse(entered[0]?.startedAt ?? '')).toBeGreaterThanOrEqual(tagged - 1_000);
  });

  it('holds back emails to addresses suppressed by then, as live', async () => {
    const s = uniqueSuffix();
    const user = (name: string) => `${name}-${s}`;
    for (const name of ['ivy', 'jon', 'kay'])
      expect(
        (
          await api.post('/v1/identify', {
            userId: user(name),
            traits: { email: `${user(name)}@example.com` },
          })
        ).status,
      ).toBe(200);
    // Ivy turned off all marketing mail, Kay only the newsletter; then all three joined.
    const unsubscribe = (name: string, category: string) =>
      api.request('PUT', `/v1/contacts/${user(name)}/subscriptions/${category}`, {
        body: JSON.stringify({ status: 'unsubscribed' }),
        headers: { 'content-type': 'application/json' },
      });
    expect((await unsubscribe('ivy', 'all')).status).toBe(200);
    expect((await unsubscribe('kay', 'newsletter')).status).toBe(200);
    for (const name of ['ivy', 'jon', 'kay'])
      expect(
        (await api.post('/v1/track', { userId: user(name), event: `joined_${s}` })).status,
      ).toBe(200);

    const res = await api.post('/v1/journeys/backtest', {
      journey: {
        id: `joined-${s}`,
        name: 'Joined',
        triggers: [{ type: 'event', event: `joined_${s}` }],
        steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
      },
      from: new Date(Date.now() - DAY).toISOString(),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as BacktestAnswer;
    expect(body.summary).toMatchObject({
      enrollments: 3,
      actions: { sendEmail: 3 },
      suppressed: 1,
    });
    expect(body.steps).toEqual([
      { id: 'hello', entered: 3, contacts: 3, actions: 3, failed: 0, suppressed: 1 },
    ]);
  });

  it('says what is wrong with the window', async () => {
    const journey = {
      id: `window-${uniqueSuffix()}`,
      name: 'Window',
      triggers: [{ type: 'event', event: 'signed_up' }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    };
    const backwards = await api.post('/v1/journeys/backtest', {
      journey,
      from: '2026-03-01T00:00:00Z',
      to: '2026-02-01T00:00:00Z',
    });
    expect(backwards.status).toBe(422);
    expect(backwards.contentType).toMatch(/application\/problem\+json/);
    expect((backwards.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe('/to');

    const noStart = await api.post('/v1/journeys/backtest', { journey });
    expect(noStart.status).toBe(422);
    expect(noStart.body).toMatchObject({ errors: [{ pointer: '/from', code: 'required' }] });

    const both = await api.post('/v1/journeys/backtest', {
      journey,
      key: journey.id,
      from: '2026-03-01T00:00:00Z',
    });
    expect(both.status).toBe(422);
    expect(both.body).toMatchObject({ errors: [{ pointer: '/key' }] });

    // A journey started by hand: nothing to replay, and the answer says so.
    const manual = await api.post('/v1/journeys/backtest', {
      journey: { ...journey, triggers: [{ type: 'manual' }] },
      from: '2026-03-01T00:00:00Z',
    });
    expect(manual.status).toBe(200);
    expect((manual.body as BacktestAnswer).warnings).toEqual([
      'Manual and API enrollments are not replayed.',
    ]);

    const unknown = await api.post('/v1/journeys/backtest', {
      key: 'no-such-journey',
      from: '2026-03-01T00:00:00Z',
    });
    expect(unknown.status).toBe(404);
  });
});
