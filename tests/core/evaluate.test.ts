import { describe, expect, it } from 'vitest';
import { evaluate, listFacts, type Facts, type PlanCondition } from '../../core/index.js';
import { compileCondition, type ConditionDefinition } from '../../definitions/index.js';
import { DAY, T0 } from './examples.js';

const facts: Facts = {
  contact: {
    plan: 'pro',
    employees: '120',
    signed_up_at: new Date(T0 - 3 * DAY).toISOString(),
    email: 'ada@Example.com',
  },
  scores: { lead: 64 },
  lifecycleStage: 'mql',
  tags: ['vip', 'beta'],
  trigger: { order_id: 'o-1' },
  event: { amount: 30 },
  emails: { welcome: ['sent', 'opened'] },
};

const check = (c: ConditionDefinition) => evaluate(compileCondition(c), facts, T0);

describe('the condition language', () => {
  it('compares attributes, scores, stage and trigger properties with typed operators', () => {
    expect(check({ type: 'equals', field: 'contact.plan', value: 'pro' })).toBe(true);
    expect(check({ type: 'notEquals', field: 'contact.plan', value: 'free' })).toBe(true);
    expect(check({ type: 'gte', field: 'contact.employees', value: 100 })).toBe(true);
    expect(check({ type: 'gt', field: 'score.lead', value: 64 })).toBe(false);
    expect(check({ type: 'in', field: 'lifecycleStage', values: ['mql', 'sql'] })).toBe(true);
    expect(check({ type: 'equals', field: 'trigger.order_id', value: 'o-1' })).toBe(true);
    expect(check({ type: 'lt', field: 'event.amount', value: 50 })).toBe(true);
  });

  it('reads tags as lists and text with case-insensitive contains', () => {
    expect(check({ type: 'contains', field: 'tags', value: 'vip' })).toBe(true);
    expect(check({ type: 'contains', field: 'tags', value: 'VIP' })).toBe(false);
    expect(check({ type: 'contains', field: 'contact.email', value: '@example.com' })).toBe(true);
  });

  it('takes a date alone as its whole day: on or before it, after it', () => {
    const at = (trialEnds: string, c: { type: 'gt' | 'gte' | 'lt' | 'lte'; value: string }) =>
      evaluate(
        compileCondition({ ...c, field: 'contact.trialEnds' }),
        { ...facts, contact: { trialEnds } },
        T0,
      );
    const morning = '2026-12-01T08:00:00.000Z';
    expect(at(morning, { type: 'lte', value: '2026-12-01' })).toBe(true);
    expect(at(morning, { type: 'gt', value: '2026-12-01' })).toBe(false);
    expect(at(morning, { type: 'gte', value: '2026-12-01' })).toBe(true);
    expect(at(morning, { type: 'lt', value: '2026-12-01' })).toBe(false);
    expect(at('2026-12-02T00:00:00.000Z', { type: 'gt', value: '2026-12-01' })).toBe(true);
    expect(at('2026-12-02T00:00:00.000Z', { type: 'lte', value: '2026-12-01' })).toBe(false);
    // A moment compares with that moment.
    expect(at(morning, { type: 'lte', value: '2026-12-01T07:00:00Z' })).toBe(false);
  });

  it('handles absolute and relative dates', () => {
    expect(check({ type: 'withinLast', field: 'contact.signed_up_at', duration: 'P7D' })).toBe(
      true,
    );
    expect(check({ type: 'moreThanAgo', field: 'contact.signed_up_at', duration: 'P2D' })).toBe(
      true,
    );
    expect(check({ type: 'moreThanAgo', field: 'contact.signed_up_at', duration: 'P30D' })).toBe(
      false,
    );
    expect(check({ type: 'after', field: 'contact.signed_up_at', value: '2025-02-01' })).toBe(true);
    expect(
      check({ type: 'lte', field: 'contact.signed_up_at', value: '2025-02-01T00:00:00Z' }),
    ).toBe(false);
  });

  it('sees what happened to earlier emails of the enrollment', () => {
    expect(check({ type: 'emailActivity', step: 'welcome', activity: 'opened' })).toBe(true);
    expect(check({ type: 'emailActivity', step: 'welcome', activity: 'clicked' })).toBe(false);
  });

  it('combines with all, any and not', () => {
    const c: ConditionDefinition = {
      type: 'all',
      conditions: [
        { type: 'exists', field: 'contact.plan' },
        { type: 'not', condition: { type: 'contains', field: 'tags', value: 'unsubscribed' } },
        {
          type: 'any',
          conditions: [
            { type: 'equals', field: 'contact.plan', value: 'x' },
            { type: 'gte', field: 'score.lead', value: 60 },
          ],
        },
      ],
    };
    expect(check(c)).toBe(true);
  });

  it('takes a contact without tags or lists as having none for `exists`, and keeps older facts deciding as they did', () => {
    const exists = (field: string, on: Facts) =>
      evaluate(compileCondition({ type: 'exists', field }), on, T0);
    const has = (field: string, value: string, on: Facts) =>
      evaluate(compileCondition({ type: 'contains', field, value }), on, T0);
    // Facts as they are loaded now: no tags, no lists, no entry.
    const bare: Facts = { contact: { plan: 'pro' }, ...listFacts([], []) };
    expect(bare).not.toHaveProperty('tags');
    expect(exists('tags', bare)).toBe(false);
    expect(exists('lists', bare)).toBe(false);
    expect(has('tags', 'vip', bare)).toBe(false);
    expect(exists('tags', { contact: {}, ...listFacts(['vip'], []) })).toBe(true);
    // Facts recorded by older runs held an empty list: replayed, they decide as then.
    expect(exists('tags', { contact: {}, tags: [], lists: [] })).toBe(true);
  });

  it('is false, not an error, for missing fields and prototype keys', () => {
    expect(check({ type: 'gt', field: 'contact.missing', value: 1 })).toBe(false);
    expect(check({ type: 'exists', field: 'contact.__proto__' })).toBe(false);
    const c: PlanCondition = {
      type: 'exists',
      field: { source: 'contact', path: ['constructor', 'name'] },
    };
    expect(evaluate(c, facts, T0)).toBe(false);
  });
});
