import { assertNever, parseDuration, type PlanCondition } from '../core/index.js';
import type { ConditionDefinition } from './condition.schema.js';
import { parseField } from './field.js';

/** A validated condition to its plan form: fields split, dates and durations in ms. */
export function compileCondition(c: ConditionDefinition): PlanCondition {
  switch (c.type) {
    case 'all':
    case 'any':
      return { type: c.type, conditions: c.conditions.map(compileCondition) };
    case 'not':
      return { type: 'not', condition: compileCondition(c.condition) };
    case 'equals':
    case 'notEquals':
    case 'contains':
      return { type: c.type, field: parseField(c.field), value: c.value };
    case 'in':
      return { type: 'in', field: parseField(c.field), values: c.values };
    case 'exists':
      return { type: 'exists', field: parseField(c.field) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return typeof c.value === 'number'
        ? { type: 'compare', field: parseField(c.field), op: c.type, value: c.value, as: 'number' }
        : {
            type: 'compare',
            field: parseField(c.field),
            op: c.type,
            value: Date.parse(c.value),
            as: 'date',
          };
    case 'before':
    case 'after':
      return {
        type: 'compare',
        field: parseField(c.field),
        op: c.type === 'before' ? 'lt' : 'gt',
        value: Date.parse(c.value),
        as: 'date',
      };
    case 'withinLast':
    case 'moreThanAgo':
    case 'withinNext':
      return {
        type: 'relativeDate',
        field: parseField(c.field),
        op: c.type,
        ms: parseDuration(c.duration) ?? 0,
      };
    case 'emailActivity':
      return { type: 'emailActivity', stepId: c.step, activity: c.activity };
    default:
      return assertNever(c, 'condition');
  }
}
