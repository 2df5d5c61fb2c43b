import { assertNever } from './assert-never.js';
import type { CompareOp, Field, PlanCondition, RelativeOp, Scalar } from './condition.js';
import type { Facts } from './facts.js';

/**
 * Evaluates a compiled condition against facts at time `now` (epoch ms). Pure and total: a
 * missing field or a value of the wrong kind makes a comparison false rather than throwing,
 * because contact data is whatever the contact's systems sent.
 */
export function evaluate(condition: PlanCondition, facts: Facts, now: number): boolean {
  switch (condition.type) {
    case 'all':
      return condition.conditions.every((c) => evaluate(c, facts, now));
    case 'any':
      return condition.conditions.some((c) => evaluate(c, facts, now));
    case 'not':
      return !evaluate(condition.condition, facts, now);
    case 'equals':
      return sameValue(readField(condition.field, facts), condition.value);
    case 'notEquals':
      return !sameValue(readField(condition.field, facts), condition.value);
    case 'in': {
      const value = readField(condition.field, facts);
      return condition.values.some((v) => sameValue(value, v));
    }
    case 'contains':
      return contains(readField(condition.field, facts), condition.value);
    case 'exists': {
      const value = readField(condition.field, facts);
      return value !== undefined && value !== null && value !== '';
    }
    case 'compare': {
      const raw = readField(condition.field, facts);
      const value = condition.as === 'date' ? toEpoch(raw) : toNumber(raw);
      return value !== undefined && compare(value, condition.op, condition.value);
    }
    case 'relativeDate': {
      const at = toEpoch(readField(condition.field, facts));
      return at !== undefined && relative(at, condition.op, condition.ms, now);
    }
    case 'emailActivity':
      return (facts.emails?.[condition.stepId] ?? []).some((a) => a === condition.activity);
    default:
      return assertNever(condition, 'condition');
  }
}

/** Reads a field; own properties only, so `__proto__` or `constructor` in a path finds nothing. */
export function readField(field: Field, facts: Facts): unknown {
  switch (field.source) {
    case 'contact':
      return walk(facts.contact, field.path);
    case 'trigger':
      return walk(facts.trigger, field.path);
    case 'event':
      return walk(facts.event, field.path);
    case 'score':
      return walk(facts.scores, field.path);
    case 'lifecycleStage':
      return facts.lifecycleStage ?? undefined;
    // Absent when the contact has none (see `listFacts`); an empty list, as facts recorded by
    // older runs hold, stays a value there.
    case 'tags':
      return facts.tags;
    case 'lists':
      return facts.lists;
    default:
      return assertNever(field.source, 'field source');
  }
}

function walk(root: unknown, path: readonly string[]): unknown {
  let here = root;
  for (const key of path) {
    if (typeof here !== 'object' || here === null || !Object.hasOwn(here, key)) return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}

function sameValue(actual: unknown, expected: Scalar): boolean {
  if (actual === expected) return true;
  // Numbers often arrive as strings from forms and CSV imports: `"42"` equals `42`.
  if (typeof expected === 'number' && typeof actual === 'string')
    return toNumber(actual) === expected;
  return false;
}

function contains(actual: unknown, expected: Scalar): boolean {
  if (Array.isArray(actual)) return actual.some((item) => sameValue(item, expected));
  if (typeof actual === 'string' && typeof expected === 'string') {
    return actual.toLowerCase().includes(expected.toLowerCase());
  }
  return false;
}

function compare(value: number, op: CompareOp, limit: number): boolean {
  switch (op) {
    case 'gt':
      return value > limit;
    case 'gte':
      return value >= limit;
    case 'lt':
      return value < limit;
    case 'lte':
      return value <= limit;
    default:
      return assertNever(op, 'comparison');
  }
}

function relative(at: number, op: RelativeOp, ms: number, now: number): boolean {
  switch (op) {
    case 'withinLast':
      return at <= now && at >= now - ms;
    case 'moreThanAgo':
      return at < now - ms;
    case 'withinNext':
      return at >= now && at <= now + ms;
    default:
      return assertNever(op, 'relative date');
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A scalar as an entry key (`o-1`, `42`); objects and missing values have none. */
export function keyOf(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** Dates arrive as ISO strings (`2025-05-01`, `2025-05-01T09:00:00Z`) or epoch milliseconds. */
/** A date without a time of day (`2026-12-01`): a whole calendar day, not a moment. */
export function isDateOnly(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim());
}

export function toEpoch(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
