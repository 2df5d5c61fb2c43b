import { describe, expect, it } from 'vitest';
import { advance, MAX_STEPS_PER_ADVANCE, startState, type Plan } from '../../core/index.js';
import { examplePlan, journey, planOf, T0 } from './examples.js';

const contact = startState({ contactId: 'c1' });

describe('the interpreter', () => {
  it('walks the welcome series one command at a time: email, wait, email, finish', () => {
    const plan = examplePlan('welcome-series.json');
    let t = advance(plan, contact, { type: 'start' }, T0);
    expect(t.command).toMatchObject({
      type: 'perform',
      stepId: 'welcome',
      iteration: 1,
      action: { type: 'sendEmail', template: 'welcome' },
    });
    t = advance(plan, t.state, { type: 'actionDone', stepId: 'welcome' }, T0);
    expect(t.command).toMatchObject({ type: 'wait', stepId: 'pause', until: T0 + 2000 });
    t = advance(plan, t.state, { type: 'timerFired' }, T0 + 2000);
    expect(t.command).toMatchObject({ type: 'perform', stepId: 'tips' });
    t = advance(plan, t.state, { type: 'actionDone', stepId: 'tips' }, T0 + 2000);
    expect(t.command).toEqual({
      type: 'finish',
      outcome: 'completed',
      stepId: 'tips',
      reason: null,
    });
    expect(advance(plan, t.state, { type: 'timerFired' }, T0 + 3000).command).toEqual({
      type: 'continue',
    });
  });

  it('re-arms a wait when the timer fires early, keeping the deadline', () => {
    const plan = examplePlan('welcome-series.json');
    let t = advance(plan, contact, { type: 'start' }, T0);
    t = advance(plan, t.state, { type: 'actionDone', stepId: 'welcome' }, T0);
    t = advance(plan, t.state, { type: 'timerFired' }, T0 + 1000);
    expect(t.command).toMatchObject({ type: 'wait', until: T0 + 2000 });
  });

  it('asks for the contact’s facts before a branch and replays the input with them', () => {
    const plan = planOf(
      journey([
        {
          id: 'check',
          type: 'branch',
          cases: [
            { condition: { type: 'equals', field: 'contact.plan', value: 'pro' }, next: 'pro' },
          ],
          else: 'free',
        },
        { id: 'pro', type: 'exit', reason: 'pro' },
        { id: 'free', type: 'exit', reason: 'free' },
      ]),
    );
    const asked = advance(plan, contact, { type: 'start' }, T0);
    expect(asked.command).toEqual({ type: 'loadFacts' });
    const done = advance(
      plan,
      asked.state,
      { type: 'facts', facts: { contact: { plan: 'pro' } } },
      T0,
    );
    expect(done.command).toMatchObject({ type: 'finish', outcome: 'exited', reason: 'pro' });
    expect(done.entered).toEqual(['check', 'pro']);
    expect(done.state.facts).toBeNull();
  });

  it('reports the case a branch took with the values its conditions read', () => {
    const plan = planOf(
      journey([
        {
          id: 'check',
          type: 'branch',
          cases: [
            {
              name: 'big',
              condition: { type: 'gte', field: 'contact.employees', value: 500 },
              next: 'big',
            },
          ],
          else: 'small',
        },
        { id: 'big', type: 'exit', reason: 'big' },
        { id: 'small', type: 'exit', reason: 'small' },
      ]),
    );
    const start = { type: 'start', facts: { contact: { employees: 120 } } } as const;
    const t = advance(plan, contact, start, T0);
    expect(t.entered).toEqual(['check', 'small']);
    expect(t.decisions).toEqual([
      {
        kind: 'branch',
        stepId: 'check',
        took: 'else',
        conditions: [
          { field: 'contact.employees', op: 'gte', expected: 500, actual: 120, result: false },
        ],
      },
    ]);
  });

  it('reports the goal met with the values its condition read', () => {
    const plan = examplePlan('mql-handoff.json');
    const first = advance(plan, contact, { type: 'start', facts: { contact: {} } }, T0);
    expect(first.decisions.filter((d) => d.kind === 'goal')).toEqual([]);
    const event = { type: 'event', event: { name: 'anything', properties: {} } } as const;
    const asked = advance(plan, first.state, event, T0);
    expect(asked.command).toEqual({ type: 'loadFacts' });
    const met = advance(
      plan,
      asked.state,
      { type: 'facts', facts: { contact: {}, lifecycleStage: 'sql' } },
      T0,
    );
    expect(met.command).toMatchObject({ type: 'finish', outcome: 'converted' });
    expect(met.decisions).toEqual([
      {
        kind: 'goal',
        stepId: first.state.stepId,
        took: 'sales-accepted',
        conditions: [
          {
            field: 'lifecycleStage',
            op: 'in',
            expected: ['sql', 'opportunity', 'customer'],
            actual: 'sql',
            result: true,
          },
        ],
      },
    ]);
  });

  it('ends the enrollment as a conversion when a goal event arrives during a wait', () => {
    const plan = examplePlan('onboarding-nurture.json');
    const facts = { contact: { timezone: 'Europe/Berlin' }, tags: [] };
    let t = advance(plan, contact, { type: 'start', facts }, T0);
    expect(t.command).toMatchObject({ type: 'perform', stepId: 'welcome' });
    t = advance(plan, t.state, { type: 'actionDone', stepId: 'welcome' }, T0);
    t = t.command.type === 'loadFacts' ? advance(plan, t.state, { type: 'facts', facts }, T0) : t;
    expect(t.command).toMatchObject({
      type: 'wait',
      stepId: 'give-it-time',
      wakeOn: { events: ['demo_booked'], anyChange: true },
    });
    t = advance(
      plan,
      t.state,
      { type: 'event', event: { name: 'demo_booked', properties: {} } },
      T0 + 1000,
    );
    t =
      t.command.type === 'loadFacts'
        ? advance(plan, t.state, { type: 'facts', facts }, T0 + 1000)
        : t;
    expect(t.command).toEqual({
      type: 'finish',
      outcome: 'converted',
      stepId: 'give-it-time',
      reason: 'demo-booked',
    });
  });

  it('applies the failure rule of an action: skip goes on, stop fails the enrollment', () => {
    const doc = (onFailure: string) =>
      planOf(
        journey([
          { id: 'hook', type: 'webhook', url: 'https://example.com/h', onFailure },
          { id: 'after', type: 'exit' },
        ]),
      );
    const skip = advance(
      doc('skip'),
      advance(doc('skip'), contact, { type: 'start' }, T0).state,
      { type: 'actionFailed', stepId: 'hook', error: 'HTTP 500' },
      T0,
    );
    expect(skip.command).toMatchObject({ type: 'finish', outcome: 'exited', stepId: 'after' });
    const stop = advance(
      doc('stop'),
      advance(doc('stop'), contact, { type: 'start' }, T0).state,
      { type: 'actionFailed', stepId: 'hook', error: 'HTTP 500' },
      T0,
    );
    expect(stop.command).toEqual({
      type: 'finish',
      outcome: 'failed',
      stepId: 'hook',
      reason: 'HTTP 500',
    });
  });

  it('routes a webhook by its response status', () => {
    const plan = planOf(
      journey([
        {
          id: 'hook',
          type: 'webhook',
          url: 'https://example.com/h',
          onStatus: [{ from: 400, to: 599, next: 'bad' }],
          next: 'good',
        },
        { id: 'good', type: 'exit', reason: 'good' },
        { id: 'bad', type: 'exit', reason: 'bad' },
      ]),
    );
    const started = advance(plan, contact, { type: 'start' }, T0).state;
    expect(
      advance(plan, started, { type: 'actionDone', stepId: 'hook', status: 502 }, T0).command,
    ).toMatchObject({ reason: 'bad' });
    expect(
      advance(plan, started, { type: 'actionDone', stepId: 'hook', status: 201 }, T0).command,
    ).toMatchObject({ reason: 'good' });
  });

  it('counts iterations per step, for idempotency keys of repeated steps', () => {
    const plan = planOf(
      journey([
        { id: 'ping', type: 'webhook', url: 'https://example.com/h' },
        { id: 'pause', type: 'wait', duration: 'PT1H' },
        {
          id: 'again',
          type: 'branch',
          cases: [{ condition: { type: 'exists', field: 'trigger.loop' }, next: 'ping' }],
        },
      ]),
    );
    let state = startState({
      contactId: 'c1',
      trigger: { name: 'go', properties: { loop: true } },
    });
    let t = advance(plan, state, { type: 'start' }, T0);
    t = advance(plan, t.state, { type: 'actionDone', stepId: 'ping' }, T0);
    t = advance(plan, t.state, { type: 'timerFired' }, T0 + 3_600_000);
    expect(t.command).toMatchObject({ type: 'perform', stepId: 'ping', iteration: 2 });
    state = t.state;
    expect(state.visits).toEqual({ ping: 2, pause: 1, again: 1 });
  });

  it('stops a runaway loop that validation would have refused', () => {
    const base = planOf(journey([{ id: 'a', type: 'exit' }]));
    const plan: Plan = {
      ...base,
      entry: 'a',
      steps: {
        a: { type: 'branch', id: 'a', cases: [], otherwise: 'b' },
        b: { type: 'branch', id: 'b', cases: [], otherwise: 'a' },
      },
    };
    const t = advance(plan, contact, { type: 'start' }, T0);
    expect(t.command).toMatchObject({ type: 'finish', outcome: 'failed', reason: 'step-limit' });
    expect(t.entered.length).toBe(MAX_STEPS_PER_ADVANCE);
  });
});
