import { LIFECYCLE_STAGES } from './common.schema.js';
import type { ConditionDefinition } from './condition.schema.js';
import { parseField } from './field.js';
import { pointerOf, type Problem } from './problem.js';
import { parseDuration } from '../core/index.js';
import {
  attributeType,
  isUnknownAttribute,
  type AttributeType,
  type ValidationContext,
} from './validation-context.js';

/** Where a condition sits decides which fields it may read. */
export interface ConditionScope {
  /** `event.*`: the condition is matched against an event. */
  readonly event: boolean;
  /** `trigger.*` and email activity: the condition runs inside an enrollment. */
  readonly enrollment: boolean;
  /** Ids of the journey's `sendEmail` steps, for email activity conditions. */
  readonly emailSteps: ReadonlySet<string>;
  /**
   * Only `event.*`: a filter matched against each event as it arrives, before any contact data
   * is read (a trigger's, a scoring rule's). `what` names it, `instead` says where conditions
   * on the contact belong.
   */
  readonly eventOnly?: { readonly what: string; readonly instead: string };
}

type Path = readonly (string | number)[];

/**
 * Checks a condition beyond its schema: fields available where it is used, and, when the
 * contact attribute schema is known, values of the right kind for each attribute.
 */
export function conditionProblems(
  condition: ConditionDefinition,
  path: Path,
  scope: ConditionScope,
  context: ValidationContext,
): Problem[] {
  switch (condition.type) {
    case 'all':
    case 'any':
      return condition.conditions.flatMap((c, i) =>
        conditionProblems(c, [...path, 'conditions', i], scope, context),
      );
    case 'not':
      return conditionProblems(condition.condition, [...path, 'condition'], scope, context);
    case 'emailActivity':
      return emailActivityProblems(condition.step, path, scope);
    case 'equals':
    case 'notEquals':
    case 'in':
    case 'contains':
    case 'exists':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'before':
    case 'after':
      return [
        ...fieldProblems(condition.field, path, scope, context),
        ...typeProblems(condition, path, context),
      ];
    case 'withinLast':
    case 'moreThanAgo':
    case 'withinNext':
      return [
        ...fieldProblems(condition.field, path, scope, context),
        ...typeProblems(condition, path, context),
        ...periodProblems(condition.duration, [...path, 'duration']),
      ];
  }
}

/** A period of zero (`P0D`) made "within the last" never true and "more than … ago" always. */
function periodProblems(duration: string, path: Path): Problem[] {
  const ms = parseDuration(duration);
  if (ms !== undefined && ms > 0) return [];
  return [
    {
      pointer: pointerOf(...path),
      code: 'impossible-duration',
      message: `The period is \`${duration}\`: it must be longer than zero.`,
    },
  ];
}

function emailActivityProblems(step: string, path: Path, scope: ConditionScope): Problem[] {
  if (!scope.enrollment) {
    return [
      {
        pointer: pointerOf(...path),
        code: 'email-activity-unavailable',
        message:
          'Email activity can only be checked inside the journey’s steps, goals and exits, not before the contact enters.',
      },
    ];
  }
  if (scope.emailSteps.has(step)) return [];
  return [
    {
      pointer: pointerOf(...path, 'step'),
      code: 'unknown-email-step',
      message: `This condition looks at the email of step \`${step}\`, but there is no email step with that id.`,
    },
  ];
}

function fieldProblems(
  field: string,
  path: Path,
  scope: ConditionScope,
  context: ValidationContext,
): Problem[] {
  const { source, path: rest } = parseField(field);
  const pointer = pointerOf(...path, 'field');
  if (source === 'event' && !scope.event) {
    return [
      {
        pointer,
        code: 'event-field-unavailable',
        message: `\`${field}\` reads an event, but there is no event here; use \`trigger.${rest.join('.')}\` for the event that enrolled the contact.`,
      },
    ];
  }
  if (source === 'trigger' && !scope.enrollment) {
    return [
      {
        pointer,
        code: 'trigger-field-unavailable',
        message: `\`${field}\` reads the enrolling event, which does not exist yet here.`,
      },
    ];
  }
  if (scope.eventOnly && source !== 'event') {
    const { what, instead } = scope.eventOnly;
    return [
      {
        pointer,
        code: 'contact-field-in-event-filter',
        message: `${what} looks at the event only, so \`${field}\` is never known there; ${instead}`,
      },
    ];
  }
  const name = rest[0];
  if (source === 'contact' && name !== undefined && isUnknownAttribute(context, name)) {
    return [
      { pointer, code: 'unknown-attribute', message: `Contacts have no attribute \`${name}\`.` },
    ];
  }
  return [];
}

type Leaf = Exclude<ConditionDefinition, { type: 'all' | 'any' | 'not' | 'emailActivity' }>;

function typeProblems(condition: Leaf, path: Path, context: ValidationContext): Problem[] {
  const type = fieldType(condition.field, context);
  const at = (key: string) => pointerOf(...path, key);
  const mismatch = (key: string, what: string): Problem[] => [
    {
      pointer: at(key),
      code: 'type-mismatch',
      message: `\`${condition.field}\` is ${describe(type)}, but this condition ${what}.`,
    },
  ];
  if (condition.field === 'lifecycleStage') {
    const values =
      condition.type === 'equals' || condition.type === 'notEquals'
        ? [condition.value]
        : condition.type === 'in'
          ? condition.values
          : [];
    const bad = values.find((v) => !LIFECYCLE_STAGES.some((s) => s === v));
    if (bad !== undefined) {
      return [
        {
          pointer: at(condition.type === 'in' ? 'values' : 'value'),
          code: 'unknown-stage',
          message: `\`${String(bad)}\` is not a lifecycle stage; use one of ${LIFECYCLE_STAGES.join(', ')}.`,
        },
      ];
    }
  }
  if (type === undefined) return [];
  switch (condition.type) {
    case 'equals':
    case 'notEquals':
      if (type === 'list') return mismatch('value', 'compares it with one value; use `contains`');
      return fits(type, condition.value)
        ? []
        : mismatch('value', `compares it with ${valueWords(condition.value)}`);
    case 'in': {
      const bad = condition.values.find((v) => !fits(type, v));
      return bad === undefined ? [] : mismatch('values', `compares it with ${valueWords(bad)}`);
    }
    case 'contains':
      return type === 'string' || type === 'list'
        ? []
        : mismatch('value', 'looks for something inside it');
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof condition.value === 'number')
        return type === 'number'
          ? []
          : mismatch('value', `compares it with the number ${condition.value}`);
      return type === 'date'
        ? []
        : mismatch('value', `compares it with the date ${condition.value}`);
    case 'before':
    case 'after':
    case 'withinLast':
    case 'moreThanAgo':
    case 'withinNext':
      return type === 'date' ? [] : mismatch('field', 'treats it as a date');
    case 'exists':
      return [];
  }
}

function fieldType(field: string, context: ValidationContext): AttributeType | undefined {
  const { source, path } = parseField(field);
  switch (source) {
    case 'score':
      return 'number';
    case 'lifecycleStage':
      return 'string';
    case 'tags':
    case 'lists':
      return 'list';
    case 'contact':
      return path.length === 1 && path[0] !== undefined
        ? attributeType(context, path[0])
        : undefined;
    case 'event':
    case 'trigger':
      return undefined;
  }
}

function fits(type: AttributeType, value: string | number | boolean): boolean {
  switch (type) {
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
    case 'date':
      return typeof value === 'string';
    case 'list':
      return false;
  }
}

function describe(type: AttributeType | undefined): string {
  const words: Record<AttributeType, string> = {
    string: 'text',
    number: 'a number',
    boolean: 'true/false',
    date: 'a date',
    list: 'a list',
  };
  return type ? words[type] : 'unknown';
}

function valueWords(value: string | number | boolean): string {
  if (typeof value === 'string')
    return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'number' ? `the number ${value}` : `${String(value)}`;
}
