import { assertNever, isDateOnly, parseDuration, type PlanCondition } from '../core/index.js';
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
            ...dateBound(c.type, c.value),
            as: 'date',
          };
    case 'before':
    case 'after':
      return {
        type: 'compare',
        field: parseField(c.field),
        ...dateBound(c.type === 'before' ? 'lt' : 'gt', c.value),
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

const DAY_MS = 86_400_000;

/**
 * A comparison with a date alone takes in the whole day: "on or before 1 December" holds on 1
 * December at 08:00, and "after 1 December" starts on the 2nd (as UTC days). A date with a
 * time compares with that moment.
 */
function dateBound(
  op: 'gt' | 'gte' | 'lt' | 'lte',
  value: string,
): { op: 'gt' | 'gte' | 'lt' | 'lte'; value: number } {
  const at = Date.parse(value);
  if (!isDateOnly(value)) return { op, value: at };
  if (op === 'lte') return { op: 'lt', value: at + DAY_MS };
  if (op === 'gt') return { op: 'gte', value: at + DAY_MS };
  return { op, value: at };
}
