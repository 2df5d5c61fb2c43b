import { assertNever } from './assert-never.js';
import type { Field, PlanCondition } from './condition.js';
import { evaluate, readField } from './evaluate.js';
import type { Facts } from './facts.js';

/**
 * One comparison of a condition as it was evaluated, for an enrollment's log: what was read,
 * how it was compared and with what, what the facts held and whether it held.
 */
export interface ConditionCheck {
  /** The field as written in definitions: `contact.plan`, `score.fit`, `tags`. */
  readonly field: string;
  /** The definition's operator: `equals`, `in`, `gt`, `withinLast`, `emailActivity`, ... */
  readonly op: string;
  /** The value compared with: null for `exists`; dates as ISO text; durations in ms. */
  readonly expected: unknown;
  /** What the facts held; null when the field is missing. */
  readonly actual: unknown;
  /** This comparison on its own; a comparison under `not` is reported before negation. */
  readonly result: boolean;
}

/**
 * Walks a condition tree and lists every comparison in it with the values it read, in the
 * order written. Pure, and it reads the facts exactly as `evaluate` does.
 */
export function traceCondition(
  condition: PlanCondition,
  facts: Facts,
  now: number,
): ConditionCheck[] {
  switch (condition.type) {
    case 'all':
    case 'any':
      return condition.conditions.flatMap((c) => traceCondition(c, facts, now));
    case 'not':
      return traceCondition(condition.condition, facts, now);
    case 'equals':
    case 'notEquals':
    case 'in':
    case 'contains':
    case 'exists':
    case 'compare':
    case 'relativeDate':
    case 'emailActivity':
      return [check(condition, facts, now)];
    default:
      return assertNever(condition, 'condition');
  }
}

type Leaf = Exclude<PlanCondition, { type: 'all' | 'any' | 'not' }>;

function check(condition: Leaf, facts: Facts, now: number): ConditionCheck {
  const result = evaluate(condition, facts, now);
  switch (condition.type) {
    case 'equals':
    case 'notEquals':
    case 'contains':
      return leaf(condition.field, condition.type, condition.value, facts, result);
    case 'in':
      return leaf(condition.field, 'in', condition.values, facts, result);
    case 'exists':
      return leaf(condition.field, 'exists', null, facts, result);
    case 'compare': {
      const { value } = condition;
      const expected =
        condition.as === 'date' && Number.isFinite(value) ? new Date(value).toISOString() : value;
      return leaf(condition.field, condition.op, expected, facts, result);
    }
    case 'relativeDate':
      return leaf(condition.field, condition.op, condition.ms, facts, result);
    case 'emailActivity':
      return {
        field: `emails.${condition.stepId}`,
        op: 'emailActivity',
        expected: condition.activity,
        actual: facts.emails?.[condition.stepId] ?? [],
        result,
      };
    default:
      return assertNever(condition, 'condition');
  }
}

function leaf(
  field: Field,
  op: string,
  expected: unknown,
  facts: Facts,
  result: boolean,
): ConditionCheck {
  return { field: fieldName(field), op, expected, actual: readField(field, facts) ?? null, result };
}

/** The inverse of the compiler's field parsing: `{ contact, [plan] }` → `contact.plan`. */
export function fieldName(field: Field): string {
  return [field.source, ...field.path].join('.');
}
