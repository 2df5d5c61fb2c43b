import { describe, expect, it } from 'vitest';
import { simulate, type Plan, type SimContact, type SplitStep } from '../../core/index.js';
import { DAY, examplePlan, HOUR, journey, planOf, T0 } from './examples.js';

const berlin = (id: string, extra: Partial<SimContact> = {}): SimContact => ({
  id,
  timezone: 'Europe/Berlin',
  tags: [],
  ...extra,
});
const iso = (ms: number) => new Date(ms).toISOString();

describe('the simulator on a virtual clock', () => {
  it('runs the e-book nurture over days: openers get the case study, others a resend first', () => {
    const plan = examplePlan('onboarding-nurture.json');
    const result = simulate({
      plan,
      contacts: [berlin('opener'), berlin('silent')],
      timeline: [
        {
          at: T0,
          contactId: 'opener',
          name: 'ebook_downloaded',
          properties: { ebook: 'nurture-playbook' },
        },
        {
          at: T0,
          contactId: 'silent',
          name: 'ebook_downloaded',
          properties: { ebook: 'nurture-playbook' },
        },
        {
          at: T0 + HOUR,
          contactId: 'opener',
          name: 'email.opened',
          properties: { step: 'welcome' },
        },
      ],
      start: T0,
    });
    const sends = (id: string) =>
      result.actions.filter((a) => a.contactId === id).map((a) => [a.stepId, iso(a.at)]);
    expect(sends('opener')).toEqual([
      ['welcome', '2025-03-03T10:00:00.000Z'],
      ['case-study', '2025-03-06T10:00:00.000Z'],
      ['tips', '2025-03-11T08:30:00.000Z'], // next Tuesday 09:30 in Berlin
    ]);
    expect(sends('silent')).toEqual([
      ['welcome', '2025-03-03T10:00:00.000Z'],
      ['resend', '2025-03-06T10:00:00.000Z'],
      ['case-study', '2025-03-08T10:00:00.000Z'],
      ['tips', '2025-03-11T08:30:00.000Z'],
    ]);
    expect(result.enrollments.map((e) => e.outcome)).toEqual(['completed', 'completed']);
  });

  it('holds emails during quiet hours in the contact’s time zone, with a fallback zone', () => {
    const plan = examplePlan('onboarding-nurture.json');
    const lateEvening = Date.parse('2025-03-03T21:30:00Z'); // 22:30 in Berlin
    const result = simulate({
      plan,
      contacts: [
        berlin('berlin'),
        { id: 'tokyo', timezone: 'Asia/Tokyo' },
        { id: 'new-york', timezone: 'America/New_York' },
        { id: 'unknown', timezone: 'Not/AZone' },
      ],
      timeline: ['berlin', 'tokyo', 'new-york', 'unknown'].map((contactId) => ({
        at: lateEvening,
        contactId,
        name: 'ebook_downloaded',
        properties: { ebook: 'nurture-playbook' },
      })),
      start: lateEvening,
      end: lateEvening + DAY,
    });
    const welcome = (id: string) => iso(result.actions.find((a) => a.contactId === id)?.at ?? 0);
    expect(welcome('berlin')).toBe('2025-03-04T07:00:00.000Z'); // 08:00 Berlin
    expect(welcome('tokyo')).toBe('2025-03-03T23:00:00.000Z'); // 06:30 in Tokyo: held until 08:00
    expect(welcome('new-york')).toBe('2025-03-03T21:30:00.000Z'); // 16:30 in New York: at once
    expect(welcome('unknown')).toBe('2025-03-04T07:00:00.000Z'); // fallback Europe/Berlin
    expect(result.enrollments[0]?.path[0]).toEqual({ stepId: 'welcome', at: lateEvening });
  });

  it('ends an enrollment at once on a goal, and on suppression when the contact changes', () => {
    const plan = examplePlan('onboarding-nurture.json');
    const result = simulate({
      plan,
      contacts: [berlin('booker'), berlin('leaver')],
      timeline: [
        {
          at: T0,
          contactId: 'booker',
          name: 'ebook_downloaded',
          properties: { ebook: 'nurture-playbook' },
        },
        {
          at: T0,
          contactId: 'leaver',
          name: 'ebook_downloaded',
          properties: { ebook: 'nurture-playbook' },
        },
        { at: T0 + DAY, contactId: 'booker', name: 'demo_booked' },
        { at: T0 + DAY, contactId: 'leaver', update: { tags: ['unsubscribed'] } },
      ],
      start: T0,
    });
    const [booker, leaver] = result.enrollments;
    expect(booker).toMatchObject({
      outcome: 'converted',
      reason: 'demo-booked',
      endedAt: T0 + DAY,
    });
    expect(leaver).toMatchObject({ outcome: 'exited', reason: 'suppressed', endedAt: T0 + DAY });
    expect(result.actions.map((a) => a.stepId)).toEqual(['welcome', 'welcome']);
  });

  it('branches on a bounce or a complaint about an email of the enrollment', () => {
    const plan = planOf(
      journey([
        { id: 'offer', type: 'sendEmail', template: 'welcome' },
        { id: 'later', type: 'wait', duration: 'P1D' },
        {
          id: 'what-became',
          type: 'branch',
          cases: [
            {
              name: 'bounced',
              condition: { type: 'emailActivity', step: 'offer', activity: 'bounced' },
              next: 'fix-address',
            },
            {
              name: 'complained',
              condition: { type: 'emailActivity', step: 'offer', activity: 'complained' },
              next: 'stop-mailing',
            },
          ],
          else: 'follow-up',
        },
        { id: 'fix-address', type: 'exit' },
        { id: 'stop-mailing', type: 'exit' },
        { id: 'follow-up', type: 'exit' },
      ]),
    );
    const who = ['bouncer', 'complainer', 'reader'];
    const result = simulate({
      plan,
      contacts: who.map((id) => berlin(id)),
      timeline: [
        ...who.map((contactId) => ({ at: T0, contactId, name: 'go' })),
        {
          at: T0 + HOUR,
          contactId: 'bouncer',
          name: 'email.bounced',
          properties: { step: 'offer' },
        },
        {
          at: T0 + HOUR,
          contactId: 'complainer',
          name: 'email.complained',
          properties: { step: 'offer' },
        },
      ],
      start: T0,
    });
    expect(result.enrollments.map((e) => [e.contactId, e.path.at(-1)?.stepId])).toEqual([
      ['bouncer', 'fix-address'],
      ['complainer', 'stop-mailing'],
      ['reader', 'follow-up'],
    ]);
  });

  it('moves on past an email suppressed at its time, which then does not count as sent', () => {
    const plan = planOf(
      journey([
        { id: 'offer', type: 'sendEmail', template: 'welcome' },
        {
          id: 'was-it-sent',
          type: 'branch',
          cases: [
            {
              name: 'sent',
              condition: { type: 'emailActivity', step: 'offer', activity: 'sent' },
              next: 'mailed',
            },
          ],
          else: 'held',
        },
        { id: 'mailed', type: 'exit' },
        { id: 'held', type: 'exit' },
      ]),
    );
    const asked: [string, string, number][] = [];
    const result = simulate({
      plan,
      contacts: [berlin('subscribed'), berlin('unsubscribed')],
      timeline: ['subscribed', 'unsubscribed'].map((contactId) => ({
        at: T0 + HOUR,
        contactId,
        name: 'go',
      })),
      start: T0,
      suppressEmail: (stepId, contactId, at) => {
        asked.push([stepId, contactId, at]);
        return contactId === 'unsubscribed';
      },
    });
    expect(asked).toEqual([
      ['offer', 'subscribed', T0 + HOUR],
      ['offer', 'unsubscribed', T0 + HOUR],
    ]);
    expect(result.enrollments.map((e) => [e.contactId, e.outcome, e.path.at(-1)?.stepId])).toEqual([
      ['subscribed', 'exited', 'mailed'],
      ['unsubscribed', 'exited', 'held'],
    ]);
  });

  it('follows a webinar: reminders relative to its start, follow-up by attendance, correlated by webinar id', () => {
    const plan = examplePlan('webinar.json');
    const startsAt = T0 + 7 * DAY;
    const props = (id: string) => ({
      webinar_id: id,
      title: 'Journeys 101',
      starts_at: iso(startsAt),
    });
    const result = simulate({
      plan,
      contacts: [{ id: 'came' }, { id: 'missed' }],
      timeline: [
        { at: T0, contactId: 'came', name: 'webinar_registered', properties: props('w1') },
        { at: T0, contactId: 'missed', name: 'webinar_registered', properties: props('w1') },
        {
          at: startsAt + 60_000,
          contactId: 'missed',
          name: 'webinar_attended',
          properties: { webinar_id: 'w0' },
        },
        {
          at: startsAt + 60_000,
          contactId: 'came',
          name: 'webinar_attended',
          properties: { webinar_id: 'w1' },
        },
      ],
      start: T0,
    });
    const steps = (id: string) =>
      result.actions.filter((a) => a.contactId === id).map((a) => [a.stepId, a.at - startsAt]);
    expect(steps('came')).toEqual([
      ['confirm', -7 * DAY],
      ['remind', -DAY],
      ['join-link', -HOUR],
      ['thanks', 3 * HOUR],
      ['score-attendance', 3 * HOUR],
    ]);
    expect(steps('missed')).toEqual([
      ['confirm', -7 * DAY],
      ['remind', -DAY],
      ['join-link', -HOUR],
      ['missed', 3 * HOUR],
    ]);
    expect(result.enrollments.map((e) => e.entryKey)).toEqual(['w1', 'w1']);
  });

  it('keeps one checkout-recovery enrollment per order id and deduplicates repeats', () => {
    const plan = examplePlan('trial-to-paid.json');
    const result = simulate({
      plan,
      contacts: [{ id: 'ada', attributes: { plan: 'trial', firstName: 'Ada' } }],
      timeline: [
        {
          at: T0,
          contactId: 'ada',
          name: 'checkout_started',
          properties: { order_id: 'o-1', plan: 'pro' },
        },
        {
          at: T0 + 60_000,
          contactId: 'ada',
          name: 'checkout_started',
          properties: { order_id: 'o-1', plan: 'pro' },
        },
        {
          at: T0 + HOUR / 2,
          contactId: 'ada',
          name: 'checkout_started',
          properties: { order_id: 'o-2', plan: 'team' },
        },
        {
          at: T0 + HOUR / 2 + 60_000,
          contactId: 'ada',
          name: 'order_completed',
          properties: { order_id: 'o-1' },
        },
      ],
      start: T0,
    });
    expect(result.refused).toEqual([
      { contactId: 'ada', at: T0 + 60_000, reason: 'already-enrolled' },
    ]);
    const byKey = (key: string) =>
      result.actions.filter((a) => a.entryKey === key).map((a) => a.stepId);
    expect(byKey('o-1')).toEqual(['thanks', 'customer']);
    // o-2's enrollment sees the contact become a customer through o-1 and leaves.
    expect(byKey('o-2')).toEqual([]);
    expect(result.enrollments.map((e) => [e.entryKey, e.outcome, e.reason])).toEqual([
      ['o-1', 'exited', 'became-customer'],
      ['o-2', 'exited', 'became-customer'],
    ]);
  });

  it('sends abandoned checkouts two reminders and then a task for sales', () => {
    const plan = examplePlan('trial-to-paid.json');
    const result = simulate({
      plan,
      contacts: [{ id: 'bo', attributes: { plan: 'trial' } }],
      timeline: [
        { at: T0, contactId: 'bo', name: 'checkout_started', properties: { order_id: 'o-9' } },
      ],
      start: T0,
    });
    expect(result.actions.map((a) => [a.stepId, (a.at - T0) / HOUR])).toEqual([
      ['first-reminder', 1],
      ['second-reminder', 25],
      ['tag-abandoned', 25],
      ['sales-follow-up', 25],
    ]);
  });

  it('splits contacts stably by weight, with a hold-out group that leaves', () => {
    const plan = examplePlan('re-engagement.json');
    const contacts = Array.from({ length: 2000 }, (_, i) => ({ id: `c${i}`, enrollAt: T0 }));
    const run = () => simulate({ plan, contacts, start: T0, end: T0 + 30 * DAY });
    const first = run();
    const arms = { a: 0, b: 0, holdout: 0 };
    for (const e of first.enrollments) {
      if (e.reason === 'holdout') arms.holdout++;
      else if (e.path.some((p) => p.stepId === 'miss-you-a')) arms.a++;
      else arms.b++;
    }
    expect(arms.holdout / 2000).toBeGreaterThan(0.08);
    expect(arms.holdout / 2000).toBeLessThan(0.12);
    expect(Math.abs(arms.a - arms.b)).toBeLessThan(150);
    expect(run()).toEqual(first);
  });

  it('splits a contact in two journeys independently, also where their split steps share an id', () => {
    const withHoldout = (key: string) =>
      planOf(
        journey(
          [
            {
              id: 'experiment',
              type: 'split',
              arms: [{ name: 'mailed', weight: 1, next: 'hello' }],
              holdout: 1,
            },
            { id: 'hello', type: 'sendEmail', template: 'welcome' },
          ],
          { id: key },
        ),
      );
    const contacts = Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, enrollAt: T0 }));
    const heldOut = (plan: Plan) =>
      new Set(
        simulate({ plan, contacts, start: T0 })
          .enrollments.filter((e) => e.reason === 'holdout')
          .map((e) => e.contactId),
      );
    const both = (a: Set<string>, b: Set<string>) => [...a].filter((id) => b.has(id)).length;
    const [spring, summer] = [withHoldout('spring-promo'), withHoldout('summer-promo')];
    // Independent halves share about a quarter of the contacts (one half: the same journey).
    const overlap = both(heldOut(spring), heldOut(summer));
    expect(overlap).toBeGreaterThan(200);
    expect(overlap).toBeLessThan(300);
    // Plans published before the seed keep the arms their running enrollments were given.
    const unseeded = (plan: Plan): Plan => {
      const { seed: _seed, ...step } = plan.steps.experiment as SplitStep;
      return { ...plan, steps: { ...plan.steps, experiment: step } };
    };
    const before = heldOut(unseeded(spring));
    expect(both(before, heldOut(unseeded(summer)))).toBe(before.size);
    expect(heldOut(spring)).not.toEqual(before);
  });

  it('routes the MQL hand-off by the CRM webhook’s status and converts when sales accepts', () => {
    const plan = examplePlan('mql-handoff.json');
    const result = simulate({
      plan,
      contacts: [
        { id: 'ok', lifecycleStage: 'lead', scores: { lead: 61 }, enrollAt: T0 },
        { id: 'crm-down', lifecycleStage: 'lead', scores: { lead: 61 }, enrollAt: T0 },
      ],
      timeline: [{ at: T0 + DAY, contactId: 'ok', update: { lifecycleStage: 'sql' } }],
      webhookStatus: (_action, contactId) => (contactId === 'crm-down' ? 503 : 200),
      start: T0,
    });
    const steps = (id: string) =>
      result.actions.filter((a) => a.contactId === id).map((a) => a.stepId);
    expect(steps('ok')).toEqual(['make-mql', 'note-date', 'tell-crm', 'follow-up-task', 'intro']);
    expect(steps('crm-down')).toEqual([
      'make-mql',
      'note-date',
      'tell-crm',
      'crm-failed',
      'follow-up-task',
      'intro',
      'nudge-rep',
    ]);
    expect(result.enrollments.map((e) => [e.outcome, e.reason])).toEqual([
      ['converted', 'sales-accepted'],
      ['exited', null],
    ]);
  });

  // Speed is measured in `npm run bench`, not asserted here: this machine is shared and noisy.
  it('sends a weekly digest once a week, also to a contact who enters on the minute itself', () => {
    // A loop back to a waitForTime with nothing in between that takes virtual time: it must wait
    // for the next Monday, not pass again on the minute it has just taken (5,000 sends at 09:00).
    const plan = planOf(
      journey([
        { id: 'monday', type: 'waitForTime', time: '09:00', weekdays: ['mon'], next: 'digest' },
        { id: 'digest', type: 'sendEmail', template: 'welcome', next: 'monday' },
      ]),
    );
    const onTheMinute = Date.parse('2025-03-10T09:00:00Z'); // a Monday, 09:00 UTC
    const result = simulate({
      plan,
      contacts: [
        { id: 'early', timezone: 'UTC', tags: [], enrollAt: T0 },
        { id: 'exact', timezone: 'UTC', tags: [], enrollAt: onTheMinute },
      ],
      start: T0,
      end: T0 + 4 * 7 * DAY,
    });
    const sends = (id: string) =>
      result.actions.filter((a) => a.contactId === id).map((a) => [iso(a.at), a.iteration]);
    const mondays = ['2025-03-10', '2025-03-17', '2025-03-24', '2025-03-31'];
    expect(sends('early')).toEqual(mondays.map((d, i) => [`${d}T09:00:00.000Z`, i + 1]));
    expect(sends('exact')).toEqual(mondays.map((d, i) => [`${d}T09:00:00.000Z`, i + 1]));
    expect(result.enrollments.map((e) => e.outcome)).toEqual([null, null]);
  });

  it('takes a contact in when it starts to match a condition trigger, as routing does', () => {
    const handOff = (entry: Record<string, unknown>) =>
      planOf(
        journey([{ id: 'notify', type: 'sendEmail', template: 'welcome' }], {
          triggers: [
            {
              type: 'condition',
              condition: { type: 'gte', field: 'score.lead', value: 60 },
            },
          ],
          entry: { reentry: 'everyTime', ...entry },
        }),
      );
    const lead = (contactId: string, at: number, value: number) => ({
      at,
      contactId,
      update: { scores: { lead: value } },
    });
    const contacts = [
      { id: 'hot', scores: { lead: 70 } },
      { id: 'warm', scores: { lead: 20 } },
    ];
    const timeline = [
      lead('warm', T0 + HOUR, 65), // starts to match: enters
      { at: T0 + 2 * HOUR, contactId: 'warm', name: 'page_viewed' }, // still matching
      lead('warm', T0 + 3 * HOUR, 70), // still matching
      lead('warm', T0 + 4 * HOUR, 10), // stops
      lead('warm', T0 + 5 * HOUR, 80), // starts again: enters again
      { at: T0 + 6 * HOUR, contactId: 'hot', name: 'page_viewed' }, // matched from the start
    ];
    const entries = (plan: Plan) =>
      simulate({ plan, contacts, timeline, start: T0, end: T0 + DAY }).enrollments.map((e) => [
        e.contactId,
        iso(e.startedAt),
      ]);
    expect(entries(handOff({}))).toEqual([
      ['warm', iso(T0 + HOUR)],
      ['warm', iso(T0 + 5 * HOUR)],
    ]);
    expect(entries(handOff({ enrollExisting: true }))).toEqual([
      ['hot', iso(T0)],
      ['warm', iso(T0 + HOUR)],
      ['warm', iso(T0 + 5 * HOUR)],
    ]);
  });

  it('starts journeys on lifecycle changes and on calls of an inbound webhook source', () => {
    const welcome = { id: 'hello', type: 'sendEmail', template: 'welcome' };
    const onMql = planOf(
      journey([welcome], { triggers: [{ type: 'lifecycleChange', from: 'lead', to: 'mql' }] }),
    );
    const onStripe = planOf(
      journey([welcome], {
        triggers: [
          {
            type: 'webhook',
            source: 'Stripe',
            filter: { type: 'gte', field: 'event.amount', value: 10 },
          },
        ],
      }),
    );
    const contacts = [
      { id: 'a', lifecycleStage: 'lead' },
      { id: 'b', lifecycleStage: 'subscriber' },
    ];
    const stage = (contactId: string, at: number, to: string) => ({
      at,
      contactId,
      update: { lifecycleStage: to },
    });
    const paid = (contactId: string, at: number, source: string, amount: number) => ({
      at,
      contactId,
      name: 'billing_paid',
      properties: { amount, $webhookSource: source },
    });
    const timeline = [
      stage('a', T0 + HOUR, 'mql'),
      stage('b', T0 + HOUR, 'mql'), // not from `lead`
      paid('a', T0 + 2 * HOUR, 'stripe ', 49),
      paid('b', T0 + 2 * HOUR, 'paddle', 49),
      paid('b', T0 + 3 * HOUR, 'Stripe', 5),
    ];
    const entered = (plan: Plan) =>
      simulate({ plan, contacts, timeline, start: T0, end: T0 + DAY }).enrollments.map((e) => [
        e.contactId,
        iso(e.startedAt),
      ]);
    expect(entered(onMql)).toEqual([['a', iso(T0 + HOUR)]]);
    expect(entered(onStripe)).toEqual([['a', iso(T0 + 2 * HOUR)]]);

    // With `enrollExisting`, a contact already at the stage enters at the start, as the live
    // publish pass enrolls it (engine/audience.ts matchesNow); one at another stage does not.
    const existing = planOf(
      journey([welcome], {
        triggers: [{ type: 'lifecycleChange', to: 'customer' }],
        entry: { enrollExisting: true },
      }),
    );
    const customers = [
      { id: 'c', lifecycleStage: 'customer' },
      { id: 'd', lifecycleStage: 'lead' },
    ];
    const atStart = simulate({ plan: existing, contacts: customers, start: T0, end: T0 + DAY });
    expect(atStart.enrollments.map((e) => [e.contactId, iso(e.startedAt)])).toEqual([
      ['c', iso(T0)],
    ]);
  });

  it("decides a one-off schedule's audience on the contacts as they are when it fires", () => {
    const fires = T0 + 2 * DAY;
    const plan = planOf(
      journey([{ id: 'issue', type: 'sendEmail', template: 'tips' }], {
        triggers: [
          {
            type: 'schedule',
            at: iso(fires),
            audience: { type: 'equals', field: 'contact.plan', value: 'pro' },
          },
        ],
      }),
    );
    const contacts = [
      { id: 'upgrades', attributes: { plan: 'free' } },
      { id: 'downgrades', attributes: { plan: 'pro' } },
      { id: 'stays', attributes: { plan: 'pro' } },
    ];
    // Before it fires, one contact becomes pro and another stops being pro.
    const timeline = [
      { at: T0 + DAY, contactId: 'upgrades', update: { attributes: { plan: 'pro' } } },
      { at: T0 + DAY, contactId: 'downgrades', update: { attributes: { plan: 'free' } } },
    ];
    const result = simulate({ plan, contacts, timeline, start: T0, end: T0 + 3 * DAY });
    expect(result.enrollments.map((e) => [e.contactId, iso(e.startedAt)]).sort()).toEqual([
      ['stays', iso(fires)],
      ['upgrades', iso(fires)],
    ]);
  });

  it('simulates a thousand contacts over eight weeks of virtual time', () => {
    const plan = examplePlan('onboarding-nurture.json');
    const contacts = Array.from({ length: 1000 }, (_, i) => berlin(`c${i}`));
    const timeline = contacts.map((c, i) => ({
      at: T0 + i * 60_000,
      contactId: c.id,
      name: 'ebook_downloaded',
      properties: { ebook: 'nurture-playbook' },
    }));
    const result = simulate({ plan, contacts, timeline, start: T0, end: T0 + 8 * 7 * DAY });
    expect(result.enrollments.every((e) => e.outcome === 'completed')).toBe(true);
    expect(result.actions.length).toBe(4000);
  });
});
