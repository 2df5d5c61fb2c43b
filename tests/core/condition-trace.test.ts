import { describe, expect, it } from 'vitest';
import { traceCondition, type Facts } from '../../core/index.js';
import { compileCondition, type ConditionDefinition } from '../../definitions/index.js';
import { DAY, T0 } from './examples.js';

const facts: Facts = {
  contact: { plan: 'pro', employees: '120', signed_up_at: new Date(T0 - 3 * DAY).toISOString() },
  scores: { lead: 64 },
  lifecycleStage: 'mql',
  tags: ['vip'],
  emails: { welcome: ['sent', 'opened'] },
};

const trace = (c: ConditionDefinition) => traceCondition(compileCondition(c), facts, T0);

describe('condition traces for the enrollment log', () => {
  it('reports the field, operator, expected value, the value read and the result', () => {
    expect(trace({ type: 'equals', field: 'contact.plan', value: 'basic' })).toEqual([
      { field: 'contact.plan', op: 'equals', expected: 'basic', actual: 'pro', result: false },
    ]);
    expect(trace({ type: 'gte', field: 'contact.employees', value: 100 })).toEqual([
      { field: 'contact.employees', op: 'gte', expected: 100, actual: '120', result: true },
    ]);
    expect(trace({ type: 'in', field: 'lifecycleStage', values: ['sql', 'mql'] })).toEqual([
      { field: 'lifecycleStage', op: 'in', expected: ['sql', 'mql'], actual: 'mql', result: true },
    ]);
  });

  it('lists every comparison of a nested tree in the order written, under not before negation', () => {
    const checks = trace({
      type: 'all',
      conditions: [
        { type: 'gt', field: 'score.lead', value: 50 },
        {
          type: 'any',
          conditions: [
            { type: 'contains', field: 'tags', value: 'beta' },
            { type: 'not', condition: { type: 'exists', field: 'contact.company' } },
          ],
        },
      ],
    });
    expect(checks).toEqual([
      { field: 'score.lead', op: 'gt', expected: 50, actual: 64, result: true },
      { field: 'tags', op: 'contains', expected: 'beta', actual: ['vip'], result: false },
      { field: 'contact.company', op: 'exists', expected: null, actual: null, result: false },
    ]);
  });

  it('shows dates as ISO text, durations in ms and email activity as the step’s history', () => {
    expect(trace({ type: 'before', field: 'contact.signed_up_at', value: '2025-03-01' })).toEqual([
      {
        field: 'contact.signed_up_at',
        op: 'lt',
        expected: '2025-03-01T00:00:00.000Z',
        actual: new Date(T0 - 3 * DAY).toISOString(),
        result: true,
      },
    ]);
    expect(trace({ type: 'withinLast', field: 'contact.signed_up_at', duration: 'P7D' })).toEqual([
      expect.objectContaining({ op: 'withinLast', expected: 7 * DAY, result: true }),
    ]);
    expect(trace({ type: 'emailActivity', step: 'welcome', activity: 'clicked' })).toEqual([
      {
        field: 'emails.welcome',
        op: 'emailActivity',
        expected: 'clicked',
        actual: ['sent', 'opened'],
        result: false,
      },
    ]);
  });
});
