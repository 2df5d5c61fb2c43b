import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeJourneyStatus } from '../../engine/index.js';
import { contactEventSignal, stateQuery } from '../../workflows/index.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { temporalRefusing } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf } from '../support/mailbox.js';

interface Enrollment {
  id: string;
  status: string;
  currentStep: string | null;
  log: { kind: string; stepId: string | null; detail: Record<string, unknown> }[];
}

/**
 * Journeys run for real on the Temporal dev server: waits for events, timeouts, goals,
 * branches, pause and resume, entry keys and duplicate events. Waits are seconds long here;
 * days-long waits are covered through the simulator.
 */
describe('journeys on Temporal', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function publish(definition: Record<string, unknown>): Promise<void> {
    const res = await api.post('/v1/journeys', { name: 'Test journey', ...definition });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  async function contact(userId: string, traits: Record<string, unknown> = {}): Promise<string> {
    const email = `${userId}@example.com`;
    await api.post('/v1/identify', { userId, traits: { email, firstName: 'Sam', ...traits } });
    return email;
  }
  async function track(
    userId: string,
    event: string,
    properties: Record<string, unknown> = {},
    messageId?: string,
  ) {
    const res = await api.post('/v1/track', {
      userId,
      event,
      properties,
      ...(messageId ? { messageId } : {}),
    });
    expect(res.status).toBe(200);
    return res.body as {
      eventId: string;
      routing: { enrollments: { enrolled: boolean; enrollmentId: string | null }[] };
    };
  }
  /** The subjects of the mail to `email`, oldest first. */
  async function mails(email: string): Promise<(string | null)[]> {
    return (await mailboxOf(api, email)).map((m) => m.subject).reverse();
  }
  async function enrollmentOf(userId: string, journey: string): Promise<Enrollment> {
    const { body } = await api.get(`/v1/contacts/${userId}`);
    const found = (body as { enrollments: { id: string; journey: string }[] }).enrollments.find(
      (e) => e.journey === journey,
    );
    if (!found) throw new Error(`${userId} is not in ${journey}`);
    return (await api.get(`/v1/enrollments/${encodeURIComponent(found.id)}`)).body as Enrollment;
  }

  it('reacts to the awaited event, and takes the timeout path when it does not come', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `demo-${s}`,
      triggers: [{ type: 'event', event: `invited_${s}` }],
      steps: [
        { id: 'invite', type: 'sendEmail', template: 'welcome' },
        {
          id: 'wait-booking',
          type: 'waitForEvent',
          event: `demo_booked_${s}`,
          timeout: 'PT3S',
          onTimeout: 'nudge',
          next: 'thanks',
        },
        {
          id: 'thanks',
          type: 'sendEmail',
          template: 'tips',
          subject: 'Thanks for booking',
          next: 'done',
        },
        { id: 'nudge', type: 'sendEmail', template: 'tips', subject: 'Still interested?' },
        { id: 'done', type: 'exit' },
      ],
    });
    const booker = await contact(`booker-${s}`);
    const idle = await contact(`idle-${s}`);
    await track(`booker-${s}`, `invited_${s}`);
    await track(`idle-${s}`, `invited_${s}`);
    await eventually(async () => (await mails(booker)).length === 1, 10_000, 'the invitation');
    await track(`booker-${s}`, `demo_booked_${s}`);

    expect(
      await eventually(
        async () => ((await mails(booker)).length === 2 ? mails(booker) : undefined),
        10_000,
        'thanks',
      ),
    ).toEqual(['Welcome to Drumbeat, Sam!', 'Thanks for booking']);
    expect(
      await eventually(
        async () => ((await mails(idle)).length === 2 ? mails(idle) : undefined),
        15_000,
        'nudge',
      ),
    ).toEqual(['Welcome to Drumbeat, Sam!', 'Still interested?']);
    const history = await eventually(
      async () => {
        const e = await enrollmentOf(`booker-${s}`, `demo-${s}`);
        return e.status === 'exited' ? e : undefined;
      },
      10_000,
      'the booker to leave',
    );
    expect(history.log.map((e) => `${e.kind}:${e.stepId ?? ''}`)).toEqual([
      'entered:invite',
      'action:invite',
      'entered:wait-booking',
      'wait:wait-booking',
      'event:wait-booking',
      'entered:thanks',
      'action:thanks',
      'entered:done',
      'finished:done',
    ]);
  });

  it('ends the enrollment at once when a goal is met, whatever it waits in', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `goal-${s}`,
      triggers: [{ type: 'event', event: `trial_${s}` }],
      goals: [{ id: 'bought', type: 'event', event: `purchased_${s}` }],
      steps: [
        { id: 'hello', type: 'sendEmail', template: 'welcome' },
        { id: 'long-wait', type: 'wait', duration: 'P7D' },
        { id: 'later', type: 'sendEmail', template: 'tips' },
      ],
    });
    const email = await contact(`goal-${s}`);
    await track(`goal-${s}`, `trial_${s}`);
    await eventually(async () => (await mails(email)).length === 1, 10_000, 'the first email');
    await track(`goal-${s}`, `purchased_${s}`);
    const enrollment = await eventually(
      async () => {
        const e = await enrollmentOf(`goal-${s}`, `goal-${s}`);
        return e.status === 'converted' ? e : undefined;
      },
      10_000,
      'the conversion',
    );
    expect(enrollment.log.at(-1)).toMatchObject({
      kind: 'finished',
      detail: { outcome: 'converted', reason: 'bought' },
    });
    expect(await mails(email)).toHaveLength(1);
  });

  it('moves an enrollment once when the same event arrives three times', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `clicks-${s}`,
      triggers: [{ type: 'event', event: `start_${s}` }],
      steps: [
        {
          id: 'first-click',
          type: 'waitForEvent',
          event: `clicked_${s}`,
          timeout: 'PT30S',
          onTimeout: 'gave-up',
        },
        { id: 'one', type: 'sendEmail', template: 'welcome', subject: 'after one click' },
        {
          id: 'second-click',
          type: 'waitForEvent',
          event: `clicked_${s}`,
          timeout: 'PT30S',
          onTimeout: 'gave-up',
        },
        {
          id: 'two',
          type: 'sendEmail',
          template: 'welcome',
          subject: 'after two clicks',
          next: 'gave-up',
        },
        { id: 'gave-up', type: 'exit' },
      ],
    });
    const email = await contact(`clicker-${s}`);
    const started = await track(`clicker-${s}`, `start_${s}`);
    const enrollmentId = started.routing.enrollments[0]?.enrollmentId ?? '';
    // The same message three times through the API is stored once...
    const clicks = [];
    for (let i = 0; i < 3; i++)
      clicks.push(await track(`clicker-${s}`, `clicked_${s}`, {}, `click-1-${s}`));
    expect(new Set(clicks.map((c) => c.eventId)).size).toBe(1);
    // ...and the stored click delivered three more times to the workflow (a re-route) counts once.
    const handle = engine.deps.temporal.workflow.getHandle(enrollmentId);
    for (let i = 0; i < 3; i++)
      await handle.signal(contactEventSignal, {
        id: clicks[0]?.eventId ?? '',
        name: `clicked_${s}`,
        properties: {},
      });
    await eventually(async () => (await mails(email)).length > 0, 10_000, 'the first email');
    // The workflow's own state, not a pause: it has heard one event and waits for the second
    // click, so the repeats moved it once.
    const live = await eventually(
      async () => {
        const state = await handle.query(stateQuery);
        return state.state.stepId === 'second-click' ? state : undefined;
      },
      10_000,
      'the wait for the second click',
    );
    expect(live.eventsHeard).toBe(1);
    expect(await mails(email)).toEqual(['after one click']);
    await track(`clicker-${s}`, `clicked_${s}`, {}, `click-2-${s}`);
    await eventually(async () => (await mails(email)).length === 2, 10_000, 'the second email');
  });

  it('routes only events a journey can care about, and the rest of a batch after a trigger', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `batch-${s}`,
      triggers: [{ type: 'event', event: `signed_up_${s}` }],
      steps: [
        {
          id: 'wait-paid',
          type: 'waitForEvent',
          event: `paid_${s}`,
          timeout: 'PT30S',
          onTimeout: 'done',
        },
        { id: 'paid', type: 'sendEmail', template: 'welcome', subject: 'Thanks for paying' },
        { id: 'done', type: 'exit' },
      ],
    });
    const email = await contact(`buyer-${s}`);
    await contact(`browser-${s}`);
    const at = (i: number) => new Date(Date.now() - 1000 + i).toISOString();
    const res = await api.post('/v1/batch', {
      batch: [
        {
          type: 'track',
          userId: `browser-${s}`,
          event: `viewed_${s}`,
          messageId: `v-${s}`,
          timestamp: at(0),
        },
        {
          type: 'track',
          userId: `buyer-${s}`,
          event: `signed_up_${s}`,
          messageId: `s-${s}`,
          timestamp: at(1),
        },
        // Not a trigger, but the contact just entered a journey in this batch: it is routed too.
        {
          type: 'track',
          userId: `buyer-${s}`,
          event: `paid_${s}`,
          messageId: `p-${s}`,
          timestamp: at(2),
        },
      ],
    });
    expect(res.status).toBe(200);
    const routedAt = async (messageId: string) =>
      (
        await engine.deps.prisma.event.findFirstOrThrow({
          where: { messageId },
          select: { routedAt: true, receivedAt: true },
        })
      ).routedAt;
    // Nobody listens to the browser's page view: stored as routed at once, never routed later.
    const viewed = await engine.deps.prisma.event.findFirstOrThrow({
      where: { messageId: `v-${s}` },
    });
    expect(viewed.routedAt).toEqual(viewed.receivedAt);
    await eventually(async () => (await routedAt(`p-${s}`)) !== null, 10_000, 'routing the batch');
    expect(await routedAt(`s-${s}`)).not.toBeNull();
    await eventually(async () => (await mails(email)).length === 1, 10_000, 'the thank-you email');
    expect(await mails(email)).toEqual(['Thanks for paying']);
  });

  it('branches on contact attributes read fresh at the branch', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `plans-${s}`,
      triggers: [{ type: 'event', event: `upgraded_${s}` }],
      steps: [
        {
          id: 'by-plan',
          type: 'branch',
          cases: [
            {
              name: 'pro',
              condition: { type: 'equals', field: 'contact.plan', value: 'pro' },
              next: 'pro',
            },
          ],
          else: 'basic',
        },
        { id: 'pro', type: 'sendEmail', template: 'welcome', subject: 'Pro tips', next: 'end' },
        { id: 'basic', type: 'sendEmail', template: 'welcome', subject: 'Basic tips', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const pro = await contact(`pro-${s}`, { plan: 'pro' });
    const basic = await contact(`basic-${s}`, { plan: 'basic' });
    await track(`pro-${s}`, `upgraded_${s}`);
    await track(`basic-${s}`, `upgraded_${s}`);
    expect(
      await eventually(async () => ((await mails(pro)).length ? mails(pro) : undefined)),
    ).toEqual(['Pro tips']);
    expect(
      await eventually(async () => ((await mails(basic)).length ? mails(basic) : undefined)),
    ).toEqual(['Basic tips']);

    // The log says which case each took and what contact.plan held when the branch read it.
    const decisionOf = async (userId: string) => {
      const done = await eventually(
        async () => {
          const e = await enrollmentOf(userId, `plans-${s}`);
          return e.status === 'exited' ? e : undefined;
        },
        10_000,
        `${userId} to finish`,
      );
      const steps = done.log.map((e) => `${e.kind}:${e.stepId ?? ''}`);
      expect(steps.slice(0, 3)).toEqual(['entered:by-plan', 'branch:by-plan', expect.any(String)]);
      return done.log.find((e) => e.kind === 'branch')?.detail;
    };
    const check = (actual: string, result: boolean) => ({
      field: 'contact.plan',
      op: 'equals',
      expected: 'pro',
      actual,
      result,
    });
    expect(await decisionOf(`pro-${s}`)).toEqual({ took: 'pro', conditions: [check('pro', true)] });
    expect(await decisionOf(`basic-${s}`)).toEqual({
      took: 'else',
      conditions: [check('basic', false)],
    });
  });

  it('holds enrollments of a paused journey before their next action, and lets them go on resume', async () => {
    const s = uniqueSuffix();
    const key = `pause-${s}`;
    await publish({
      id: key,
      triggers: [{ type: 'event', event: `go_${s}` }],
      steps: [
        { id: 'a', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1S' },
        { id: 'b', type: 'sendEmail', template: 'tips' },
      ],
    });
    const email = await contact(`p-${s}`);
    await track(`p-${s}`, `go_${s}`);
    await eventually(async () => (await mails(email)).length === 1, 10_000, 'the first email');
    expect((await api.post(`/v1/journeys/${key}/pause`, {})).body).toMatchObject({
      status: 'paused',
      enrollmentsTold: 1,
    });
    await eventually(
      async () => (await enrollmentOf(`p-${s}`, key)).log.some((e) => e.kind === 'paused'),
      10_000,
      'the hold',
    );
    expect(await mails(email)).toHaveLength(1);

    expect((await api.post(`/v1/journeys/${key}/resume`, {})).body).toMatchObject({
      status: 'active',
    });
    await eventually(
      async () => (await mails(email)).length === 2,
      10_000,
      'the second email after resume',
    );

    expect((await api.post(`/v1/journeys/${key}/archive`, {})).body).toMatchObject({
      status: 'archived',
    });
    expect((await api.post(`/v1/journeys/${key}/pause`, {})).status).toBe(409);
  });

  it('archiving again ends the enrollments that an archive failing part-way did not reach', async () => {
    const s = uniqueSuffix();
    const key = `archive-retry-${s}`;
    await publish({
      id: key,
      triggers: [{ type: 'event', event: `go_${s}` }],
      steps: [
        { id: 'nap', type: 'wait', duration: 'P1D' },
        { id: 'late', type: 'sendEmail', template: 'welcome' },
      ],
    });
    await contact(`ar-${s}`);
    await track(`ar-${s}`, `go_${s}`);
    await eventually(
      async () => (await enrollmentOf(`ar-${s}`, key)).status === 'active',
      10_000,
      'the enrollment to wait',
    );
    // The archive stores its status, then Temporal refuses the exit signals.
    const down = temporalRefusing(engine.deps.temporal, 'signal');
    await expect(
      changeJourneyStatus({ ...engine.deps, temporal: down }, 'default', key, 'archive'),
    ).rejects.toThrow('Temporal unavailable');
    expect((await api.get(`/v1/journeys/${key}`)).body).toMatchObject({ status: 'archived' });
    expect((await enrollmentOf(`ar-${s}`, key)).status).toBe('active');

    // The client's retry tells the enrollment that is still running.
    const again = await api.post(`/v1/journeys/${key}/archive`, {});
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ status: 'archived', enrollmentsTold: 1 });
    await eventually(
      async () => (await enrollmentOf(`ar-${s}`, key)).status === 'exited',
      10_000,
      'the enrollment to end',
    );
    // Still no pause or resume for an archived journey.
    expect((await api.post(`/v1/journeys/${key}/resume`, {})).status).toBe(409);
  });

  it('ends an enrollment held by a pause when its goal is met meanwhile: the held email never goes', async () => {
    const s = uniqueSuffix();
    const key = `pause-goal-${s}`;
    await publish({
      id: key,
      triggers: [{ type: 'event', event: `go_${s}` }],
      goals: [{ id: 'bought', type: 'event', event: `bought_${s}` }],
      steps: [
        { id: 'a', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1S' },
        { id: 'b', type: 'sendEmail', template: 'tips' },
      ],
    });
    const email = await contact(`pg-${s}`);
    await track(`pg-${s}`, `go_${s}`);
    await eventually(async () => (await mails(email)).length === 1, 10_000, 'the first email');
    expect((await api.post(`/v1/journeys/${key}/pause`, {})).status).toBe(200);
    await eventually(
      async () => (await enrollmentOf(`pg-${s}`, key)).log.some((e) => e.kind === 'paused'),
      10_000,
      'the hold',
    );
    await track(`pg-${s}`, `bought_${s}`);
    const enrollment = await eventually(
      async () => {
        const e = await enrollmentOf(`pg-${s}`, key);
        return e.status === 'converted' ? e : undefined;
      },
      10_000,
      'the conversion while paused',
    );
    expect(enrollment.log.at(-1)).toMatchObject({
      kind: 'finished',
      detail: { outcome: 'converted', reason: 'bought' },
    });
    expect((await api.post(`/v1/journeys/${key}/resume`, {})).status).toBe(200);
    expect(await mails(email)).toHaveLength(1);
  });

  it('holds an enrollment started while its journey was being paused elsewhere', async () => {
    const s = uniqueSuffix();
    const key = `late-pause-${s}`;
    await publish({
      id: key,
      triggers: [{ type: 'event', event: `go_${s}` }],
      steps: [
        { id: 'nap', type: 'wait', duration: 'PT1S' },
        { id: 'hello', type: 'sendEmail', template: 'welcome' },
      ],
    });
    const email = await contact(`lp-${s}`);
    await contact(`lp-first-${s}`);
    // A first enrollment, so this process's list of journeys (cached two seconds) is read.
    await track(`lp-first-${s}`, `go_${s}`);
    // Paused as another process pauses it: the status is written, this process's list untold.
    await engine.deps.prisma.journey.update({
      where: { workspaceId_key: { workspaceId: 'default', key } },
      data: { status: 'paused' },
    });
    const entered = await track(`lp-${s}`, `go_${s}`);
    expect(entered.routing.enrollments[0]?.enrolled).toBe(true); // decided on the cached list
    await eventually(
      async () => (await enrollmentOf(`lp-${s}`, key)).log.some((e) => e.kind === 'paused'),
      10_000,
      'the hold',
    );
    expect(await mails(email)).toEqual([]);
  });

  it('correlates a repeat of an entry key on the key itself, and takes a third repeat', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `cart-${s}`,
      triggers: [{ type: 'event', event: `started_${s}` }],
      entry: { reentry: 'afterExit', key: 'trigger.cart_id' },
      steps: [
        {
          id: 'wait-paid',
          type: 'waitForEvent',
          event: `paid_${s}`,
          correlate: 'cart_id',
          timeout: 'PT1H',
          onTimeout: 'nudge',
          next: 'thanks',
        },
        { id: 'thanks', type: 'sendEmail', template: 'tips', subject: 'Thanks', next: 'done' },
        { id: 'nudge', type: 'sendEmail', template: 'welcome', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const email = await contact(`cart-${s}`);
    for (let round = 1; round <= 3; round++) {
      const entered = await track(`cart-${s}`, `started_${s}`, { cart_id: 'k1' });
      expect(entered.routing.enrollments[0]?.enrolled, `round ${round}`).toBe(true);
      await track(`cart-${s}`, `paid_${s}`, { cart_id: 'k1' });
      // The paid event matches the wait in every round: a thanks email each time.
      await eventually(
        async () => (await mails(email)).filter((m) => m === 'Thanks').length === round,
        15_000,
        `round ${round}'s thanks`,
      );
      await eventually(
        async () => {
          const ended = await engine.deps.sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM enrollments e JOIN contacts c ON c.id = e.contact_id
             WHERE c.user_id = $1 AND e.status NOT IN ('active', 'pending')`,
            [`cart-${s}`],
          );
          return ended[0]?.n === round;
        },
        15_000,
        `round ${round}'s end`,
      );
    }
  });

  it('makes distinct entry keys distinct enrollments and deduplicates repeats of a key', async () => {
    const s = uniqueSuffix();
    await publish({
      id: `orders-${s}`,
      triggers: [{ type: 'event', event: `checkout_${s}` }],
      entry: { reentry: 'everyTime', key: 'trigger.order_id' },
      steps: [
        {
          id: 'receipt',
          type: 'sendEmail',
          template: 'welcome',
          subject: 'Order {{event.properties.order_id}}',
        },
      ],
    });
    const email = await contact(`buyer-${s}`);
    const first = await track(`buyer-${s}`, `checkout_${s}`, { order_id: 'A-1' });
    const second = await track(`buyer-${s}`, `checkout_${s}`, { order_id: 'B-2' });
    expect(first.routing.enrollments[0]?.enrolled).toBe(true);
    expect(second.routing.enrollments[0]?.enrolled).toBe(true);
    await eventually(async () => (await mails(email)).length === 2, 10_000, 'two receipts');
    expect((await mails(email)).sort()).toEqual(['Order A-1', 'Order B-2']);
  });
  it('explains why a contact is or is not in a journey, with the rules that decide entry', async () => {
    const s = uniqueSuffix();
    const key = `vip-${s}`;
    await publish({
      id: key,
      triggers: [{ type: 'event', event: `visited_${s}` }],
      entry: {
        reentry: 'once',
        condition: { type: 'equals', field: 'contact.tier', value: 'vip' },
      },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    await contact(`regular-${s}`, { tier: 'basic' });
    await contact(`vip-${s}`, { tier: 'vip' });
    const regular = await api.get(`/v1/journeys/${key}/eligibility/regular-${s}`);
    expect(regular.body).toMatchObject({ wouldEnroll: false, reason: 'condition-not-met' });
    expect((regular.body as { explanation: string }).explanation).toMatch(/entry condition/);
    expect((await api.get(`/v1/journeys/${key}/eligibility/vip-${s}`)).body).toMatchObject({
      wouldEnroll: true,
      reason: null,
    });
    await track(`vip-${s}`, `visited_${s}`);
    expect((await api.get(`/v1/journeys/${key}/eligibility/vip-${s}`)).body).toMatchObject({
      wouldEnroll: false,
      reason: 'already-enrolled',
      enrollments: [expect.objectContaining({ entryKey: 'once' })],
    });
    expect((await api.get(`/v1/journeys/${key}/eligibility/nobody-${s}`)).status).toBe(404);
  });
});
