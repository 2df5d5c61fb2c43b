import { describe, expect, it } from 'vitest';
import {
  validateJourney,
  validateScoringModel,
  type ValidationContext,
} from '../../definitions/index.js';
import { journey } from '../core/examples.js';

const context: ValidationContext = {
  templateExists: (name) => ['welcome', 'tips'].includes(name),
  templateVariables: (name) =>
    name === 'tips' ? ['contact.firstName', 'contact.favourite_colour'] : ['contact.firstName'],
  journeyExists: (id) => id === 'welcome-series',
  teamExists: (id) => id === 'sales',
  contactAttributes: { plan: 'string', employees: 'number', renewal_date: 'date' },
};

const problemsOf = (doc: unknown, ctx: ValidationContext = context) => {
  const result = validateJourney(doc, ctx);
  return result.ok ? [] : result.problems;
};

describe('semantic checks', () => {
  it('refuses a weekly schedule without weekdays, and weekdays on a daily one', () => {
    const schedule = (recurring: Record<string, unknown>) =>
      problemsOf(
        journey([{ id: 'hi', type: 'sendEmail', template: 'welcome' }], {
          triggers: [
            { type: 'schedule', recurring: { time: '09:00', timezone: 'UTC', ...recurring } },
          ],
        }),
      );
    expect(schedule({ frequency: 'weekly' })).toEqual([
      {
        pointer: '/triggers/0/recurring',
        code: 'required',
        message: 'A weekly schedule needs `weekdays`, for example ["mon"].',
      },
    ]);
    expect(schedule({ frequency: 'daily', weekdays: ['mon'] })).toEqual([
      {
        pointer: '/triggers/0/recurring/weekdays',
        code: 'weekdays-not-weekly',
        message:
          'A daily schedule does not run on chosen weekdays: make it `weekly`, or leave out `weekdays`.',
      },
    ]);
    expect(schedule({ frequency: 'weekly', weekdays: ['mon', 'thu'] })).toEqual([]);
    expect(schedule({ frequency: 'daily' })).toEqual([]);
  });

  it('reports every problem of a broken journey at once, each with pointer, code and a plain sentence', () => {
    const problems = problemsOf(
      journey([
        { id: 'welcome', type: 'sendEmail', template: 'welcom', next: 'wait' },
        { id: 'wait', type: 'wait', duration: 'PT0S' },
        {
          id: 'again',
          type: 'branch',
          cases: [
            {
              condition: { type: 'equals', field: 'contact.employees', value: '50' },
              next: 'again',
            },
          ],
          else: 'nowhere',
        },
        { id: 'resend', type: 'sendEmail', template: 'tips' },
        { id: 'reply', type: 'waitForEvent', event: 'replied' },
        {
          id: 'task',
          type: 'createTask',
          title: 'Call',
          assignee: { type: 'roundRobin', team: 'salse' },
        },
        { id: 'other', type: 'enroll', journey: 'nope' },
        { id: 'welcome', type: 'exit' },
      ]),
    );
    const byCode = Object.fromEntries([...problems].reverse().map((p) => [p.code, p]));
    expect(byCode['unknown-template']).toEqual({
      pointer: '/steps/0/template',
      code: 'unknown-template',
      message: 'Step `welcome` sends the template `welcom`, which does not exist.',
    });
    expect(byCode['duplicate-step-id']?.pointer).toBe('/steps/7/id');
    expect(byCode['impossible-duration']?.pointer).toBe('/steps/1/duration');
    expect(byCode['type-mismatch']).toMatchObject({ pointer: '/steps/2/cases/0/condition/value' });
    expect(byCode['type-mismatch']?.message).toContain('`contact.employees` is a number');
    expect(byCode['unknown-step']).toMatchObject({ pointer: '/steps/2/else' });
    expect(byCode['loop-without-wait']?.message).toContain('`again`');
    expect(byCode['unreachable-step']).toEqual({
      pointer: '/steps/3',
      code: 'unreachable-step',
      message: 'Step `resend` is never reached: no step leads to it.',
    });
    expect(byCode['unknown-template-variable']?.message).toContain('contact.favourite_colour');
    expect(byCode['missing-timeout']?.pointer).toBe('/steps/4');
    expect(byCode['unknown-team']?.pointer).toBe('/steps/5/assignee/team');
    expect(byCode['unknown-journey']?.pointer).toBe('/steps/6/journey');
  });

  it('refuses a loop whose only wait may go on at once (a past date, a condition already met)', () => {
    const loop = (wait: Record<string, unknown>) =>
      journey([
        { id: 'until', ...wait, next: 'remind' },
        { id: 'remind', type: 'sendEmail', template: 'welcome', next: 'check' },
        {
          id: 'check',
          type: 'branch',
          cases: [{ condition: { type: 'exists', field: 'contact.plan' }, next: 'done' }],
          else: 'until',
        },
        { id: 'done', type: 'exit' },
      ]);
    for (const wait of [
      { type: 'waitUntil', field: 'contact.renewal_date', offset: '-P7D' },
      {
        type: 'waitForCondition',
        condition: { type: 'gte', field: 'contact.employees', value: 10 },
        timeout: 'P7D',
        onTimeout: 'done',
      },
    ])
      expect(problemsOf(loop(wait)).map((p) => p.code)).toContain('loop-without-wait');
    // A wait of its own length still breaks the loop.
    expect(problemsOf(loop({ type: 'wait', duration: 'P7D' })).map((p) => p.code)).not.toContain(
      'loop-without-wait',
    );
  });

  it('refuses a relative date condition over a period of zero, and takes long ones', () => {
    const branchOn = (duration: string) =>
      journey([
        {
          id: 'check',
          type: 'branch',
          cases: [
            {
              condition: { type: 'withinLast', field: 'contact.renewal_date', duration },
              next: 'done',
            },
          ],
          else: 'done',
        },
        { id: 'done', type: 'exit' },
      ]);
    expect(problemsOf(branchOn('P0D'))).toContainEqual(
      expect.objectContaining({
        pointer: '/steps/0/cases/0/condition/duration',
        code: 'impossible-duration',
      }),
    );
    expect(problemsOf(branchOn('P1000D'))).toEqual([]); // longer than a wait may be
  });

  it('checks the teams and users a task is assigned to, only when the workspace is known', () => {
    const steps = [
      {
        id: 'follow-up',
        type: 'createTask',
        title: 'Call',
        assignee: { type: 'roundRobin', team: 'sales-emea' },
      },
      {
        id: 'least',
        type: 'createTask',
        title: 'Call',
        assignee: { type: 'leastLoaded', team: 'sales' },
      },
      {
        id: 'owner',
        type: 'createTask',
        title: 'Call',
        assignee: { type: 'owner', fallbackTeam: 'ghosts' },
      },
      {
        id: 'by-email',
        type: 'createTask',
        title: 'Call',
        assignee: { type: 'user', user: ' Rep@Example.com ' },
      },
      { id: 'by-id', type: 'createTask', title: 'Call', assignee: { type: 'user', user: 'u-2' } },
      {
        id: 'nobody',
        type: 'createTask',
        title: 'Call',
        assignee: { type: 'user', user: 'ghost@example.com' },
      },
    ];
    const workspace: ValidationContext = {
      ...context,
      userExists: (ref) => ref === 'u-2' || ref.trim().toLowerCase() === 'rep@example.com',
    };
    expect(problemsOf(journey(steps), workspace)).toEqual([
      {
        pointer: '/steps/0/assignee/team',
        code: 'unknown-team',
        message:
          'Step `follow-up` assigns its task to the team `sales-emea`, which does not exist in this workspace.',
      },
      {
        pointer: '/steps/2/assignee/fallbackTeam',
        code: 'unknown-team',
        message:
          'Step `owner` assigns its task to the team `ghosts`, which does not exist in this workspace.',
      },
      {
        pointer: '/steps/5/assignee/user',
        code: 'unknown-user',
        message:
          'Step `nobody` assigns its task to the user `ghost@example.com`, who does not exist in this workspace.',
      },
    ]);
    // Offline validation (`drumbeat validate`, POST /v1/journeys/validate) has no workspace.
    expect(problemsOf(journey(steps), { templateExists: () => true })).toEqual([]);
  });

  it('refuses enrolling in a journey that does not exist or is archived, at the step’s journey field', () => {
    const steps = [
      { id: 'upsell', type: 'enroll', journey: 'upsell-2024', next: 'nurture' },
      { id: 'nurture', type: 'enroll', journey: 'nurture', next: 'stop-old' },
      { id: 'stop-old', type: 'unenroll', journey: 'upsell-2024', next: 'stop-gone' },
      { id: 'stop-gone', type: 'unenroll', journey: 'never-was', next: 'onboard' },
      { id: 'onboard', type: 'enroll', journey: 'welcome-series' },
    ];
    const workspace: ValidationContext = {
      ...context,
      journeyExists: (key) => ['welcome-series', 'upsell-2024'].includes(key),
      journeyArchived: (key) => key === 'upsell-2024',
    };
    expect(problemsOf(journey(steps), workspace)).toEqual([
      {
        pointer: '/steps/0/journey',
        code: 'archived-journey',
        message:
          'Step `upsell` enrolls the contact in the journey `upsell-2024`, which is archived: publish that journey again first, or pick another one.',
      },
      {
        pointer: '/steps/1/journey',
        code: 'unknown-journey',
        message:
          'Step `nurture` enrolls the contact in the journey `nurture`, which does not exist in this workspace.',
      },
      // Removing contacts from an archived journey is harmless; from a missing one, a mistake.
      {
        pointer: '/steps/3/journey',
        code: 'unknown-journey',
        message:
          'Step `stop-gone` removes the contact from the journey `never-was`, which does not exist in this workspace.',
      },
    ]);
    // Offline validation has no workspace, so it cannot tell.
    expect(problemsOf(journey(steps), { templateExists: () => true })).toEqual([]);
  });

  it('refuses updateContact changes to fields that have their own step or path, naming it', () => {
    const problems = problemsOf(
      journey([
        {
          id: 'mark',
          type: 'updateContact',
          changes: [
            { type: 'set', attribute: 'tags', value: 'vip' },
            { type: 'set', attribute: 'plan', value: 'pro' },
            { type: 'unset', attribute: 'lifecycleStage' },
            { type: 'increment', attribute: 'scores', by: 5 },
            { type: 'set', attribute: 'email', value: 'x@example.com' },
          ],
        },
      ]),
    );
    expect(problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/steps/0/changes/0/attribute', 'managed-attribute'],
      ['/steps/0/changes/2/attribute', 'managed-attribute'],
      ['/steps/0/changes/3/attribute', 'managed-attribute'],
      ['/steps/0/changes/4/attribute', 'managed-attribute'],
    ]);
    expect(problems[0]?.message).toBe(
      'Step `mark` cannot change `tags` as an attribute; use an `updateTags` step.',
    );
  });

  it('checks where condition fields can be read', () => {
    const problems = problemsOf(
      journey([{ id: 'a', type: 'exit' }], {
        triggers: [
          { type: 'condition', condition: { type: 'equals', field: 'trigger.plan', value: 'x' } },
        ],
        goals: [
          {
            id: 'g',
            type: 'condition',
            condition: { type: 'gt', field: 'event.amount', value: 1 },
          },
        ],
        exits: [
          {
            id: 'e',
            type: 'condition',
            condition: { type: 'emailActivity', step: 'nope', activity: 'opened' },
          },
        ],
      }),
    );
    expect(problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/triggers/0/condition/field', 'trigger-field-unavailable'],
      ['/goals/0/condition/field', 'event-field-unavailable'],
      ['/exits/0/condition/step', 'unknown-email-step'],
    ]);
  });

  it('refuses contact fields in trigger filters, which see the event only', () => {
    // Live routing matches a trigger filter against the event before reading the contact: a
    // contact field there was never known and the trigger silently never fired for anyone.
    const problems = problemsOf(
      journey([{ id: 'a', type: 'exit' }], {
        triggers: [
          {
            type: 'event',
            event: 'signed_up',
            filter: {
              type: 'all',
              conditions: [
                { type: 'equals', field: 'event.source', value: 'ads' },
                { type: 'equals', field: 'contact.plan', value: 'pro' },
                { type: 'contains', field: 'tags', value: 'vip' },
              ],
            },
          },
        ],
      }),
    );
    expect(problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/triggers/0/filter/conditions/1/field', 'contact-field-in-event-filter'],
      ['/triggers/0/filter/conditions/2/field', 'contact-field-in-event-filter'],
    ]);
    expect(problems[0]?.message).toContain('entry.condition');
  });

  it('reports schema problems in words, at the exact place', () => {
    const problems = problemsOf({
      id: 'Bad Id',
      name: '',
      triggers: [],
      steps: [{ id: 'x', type: 'teleport' }],
      extra: 1,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/id', code: 'bad-format' }),
        expect.objectContaining({ pointer: '/name', code: 'too-short' }),
        expect.objectContaining({ pointer: '/triggers', code: 'too-few' }),
        expect.objectContaining({ pointer: '/steps/0/type', code: 'not-allowed' }),
        expect.objectContaining({ pointer: '/extra', code: 'unknown-property' }),
      ]),
    );
  });

  it('reports a value of the wrong kind once, not once per kind it could have been', () => {
    const problems = problemsOf(
      journey([
        {
          id: 'b',
          type: 'branch',
          cases: [{ condition: { type: 'gt', field: 'contact.x', value: 'soon' }, next: 'b' }],
        },
      ]),
      {},
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      pointer: '/steps/0/cases/0/condition/value',
      code: 'wrong-type',
    });
  });

  it('refuses documents nested too deeply before they reach the schema', () => {
    let condition: unknown = { type: 'exists', field: 'contact.plan' };
    for (let i = 0; i < 5000; i++) condition = { type: 'not', condition };
    const problems = problemsOf(
      journey([{ id: 'b', type: 'branch', cases: [{ condition, next: 'b' }] }]),
    );
    expect(problems).toEqual([expect.objectContaining({ code: 'too-deep' })]);
  });

  it('checks scoring models: hysteresis and stage order', () => {
    const result = validateScoringModel({
      id: 'm',
      name: 'M',
      engagement: {
        rules: [
          { id: 'a', event: 'x', points: 1 },
          { id: 'a', event: 'y', points: 2 },
        ],
      },
      lifecycle: {
        thresholds: [
          { stage: 'mql', enterAt: 60, exitBelow: 70 },
          { stage: 'lead', enterAt: 10 },
        ],
      },
    });
    expect(result.ok ? [] : result.problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/engagement/rules/1/id', 'duplicate-rule-id'],
      ['/lifecycle/thresholds/0/exitBelow', 'bad-hysteresis'],
      ['/lifecycle/thresholds/1', 'thresholds-out-of-order'],
    ]);
  });

  it('refuses contact fields in engagement rule filters, which see the event only', () => {
    // The scorer matches a rule's filter against the event alone: `contact.plan` there never
    // matched, and the rule silently gave no one points.
    const result = validateScoringModel({
      id: 'm',
      name: 'M',
      engagement: {
        rules: [
          {
            id: 'pro-visit',
            event: 'visited',
            points: 5,
            filter: { type: 'equals', field: 'contact.plan', value: 'pro' },
          },
          {
            id: 'pricing',
            event: 'visited',
            points: 5,
            filter: { type: 'contains', field: 'event.path', value: '/pricing' },
          },
        ],
      },
    });
    expect(result.ok ? [] : result.problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/engagement/rules/0/filter/field', 'contact-field-in-event-filter'],
    ]);
    expect(result.ok ? '' : result.problems[0]?.message).toContain('fit.rules');
  });

  it('checks the funnel order of thresholds that read different scores', () => {
    const model = (thresholds: unknown[]) =>
      validateScoringModel({
        id: 'm',
        name: 'M',
        engagement: { rules: [{ id: 'a', event: 'x', points: 1 }] },
        lifecycle: { thresholds },
      });
    // An mql on engagement listed before a lead on the lead score moved mqls back to lead.
    const mixed = model([
      { stage: 'mql', score: 'engagement', enterAt: 50, exitBelow: 40 },
      { stage: 'lead', score: 'lead', enterAt: 10 },
    ]);
    expect(mixed.ok ? [] : mixed.problems.map((p) => [p.pointer, p.code])).toEqual([
      ['/lifecycle/thresholds/1', 'thresholds-out-of-order'],
    ]);
    // In funnel order, stages on different scores need no order between their scores.
    const ordered = model([
      { stage: 'lead', score: 'lead', enterAt: 80 },
      { stage: 'mql', score: 'engagement', enterAt: 50 },
    ]);
    expect(ordered.ok).toBe(true);
  });
});
