import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EMAIL_ACTIVITIES } from '../core/index.js';
import { Duration, FieldPath, ID_PATTERN, OneOf } from './common.schema.js';
import { TaggedUnion } from './tagged-union.js';

/**
 * The one condition language, used by triggers, branches, goals, exits, suppression, entry
 * rules and scoring rules. Leaves compare one field with typed operators; `all`, `any` and
 * `not` combine them. The schema is recursive through `$defs/Condition`.
 */
export const CONDITION_DEF = 'Condition';

const Scalar = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()], {
  title: 'Value',
  description: 'Text, a number or true/false.',
});

const DateValue = Type.Union(
  [Type.String({ format: 'date-time' }), Type.String({ format: 'date' })],
  {
    title: 'Date',
    description: 'A date (`2025-06-01`) or a date-time (`2025-06-01T09:00:00Z`).',
  },
);

const leaf = <T extends string, P extends Record<string, TSchema>>(
  type: T,
  title: string,
  description: string,
  props: P,
) =>
  Type.Object(
    { type: Type.Literal(type), ...props },
    { title, description, additionalProperties: false },
  );

const ordered = <T extends string>(type: T, words: string) =>
  leaf(
    type,
    `Is ${words}`,
    `True when the field is ${words} the value: numbers compare as numbers, dates as dates.`,
    {
      field: FieldPath,
      value: Type.Union([Type.Number(), DateValue], {
        title: 'Value',
        description: 'A number, or a date.',
      }),
    },
  );

const relative = <T extends string>(type: T, title: string, description: string) =>
  leaf(type, title, description, { field: FieldPath, duration: Duration });

export const ConditionSchema = Type.Recursive(
  (This) =>
    TaggedUnion(
      [
        Type.Object(
          {
            type: Type.Literal('all'),
            conditions: Type.Array(This, { minItems: 1, maxItems: 100 }),
          },
          {
            title: 'All of',
            description: 'True when every condition in the list is true.',
            additionalProperties: false,
          },
        ),
        Type.Object(
          {
            type: Type.Literal('any'),
            conditions: Type.Array(This, { minItems: 1, maxItems: 100 }),
          },
          {
            title: 'Any of',
            description: 'True when at least one condition in the list is true.',
            additionalProperties: false,
          },
        ),
        Type.Object(
          { type: Type.Literal('not'), condition: This },
          {
            title: 'Not',
            description: 'True when the condition is false.',
            additionalProperties: false,
          },
        ),
        leaf('equals', 'Equals', 'True when the field has exactly this value.', {
          field: FieldPath,
          value: Scalar,
        }),
        leaf(
          'notEquals',
          'Does not equal',
          'True when the field is missing or has another value.',
          {
            field: FieldPath,
            value: Scalar,
          },
        ),
        leaf('in', 'Is one of', 'True when the field has one of the values.', {
          field: FieldPath,
          values: Type.Array(Scalar, {
            title: 'Values',
            description: 'The accepted values.',
            minItems: 1,
            maxItems: 1000,
          }),
        }),
        leaf(
          'contains',
          'Contains',
          'For text: contains the value (ignoring case). For lists such as `tags`: has the value.',
          {
            field: FieldPath,
            value: Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Number()]),
          },
        ),
        leaf('exists', 'Is known', 'True when the field has a non-empty value.', {
          field: FieldPath,
        }),
        ordered('gt', 'greater than (after)'),
        ordered('gte', 'at least (on or after)'),
        ordered('lt', 'less than (before)'),
        ordered('lte', 'at most (on or before)'),
        leaf('before', 'Is before', 'True when the date field is before the given date.', {
          field: FieldPath,
          value: DateValue,
        }),
        leaf('after', 'Is after', 'True when the date field is after the given date.', {
          field: FieldPath,
          value: DateValue,
        }),
        relative(
          'withinLast',
          'Within the last',
          'True when the date field lies within this long before now ("in the last 7 days").',
        ),
        relative(
          'moreThanAgo',
          'More than … ago',
          'True when the date field lies further back than this ("more than 30 days ago").',
        ),
        relative(
          'withinNext',
          'Within the next',
          'True when the date field lies within this long after now ("in the next 7 days").',
        ),
        leaf(
          'emailActivity',
          'Email activity',
          'True when the contact did this with the email of an earlier step of this enrollment.',
          {
            step: Type.String({
              title: 'Step',
              description: 'The id of a `sendEmail` step.',
              pattern: ID_PATTERN,
            }),
            activity: OneOf(EMAIL_ACTIVITIES, {
              title: 'Activity',
              description: 'sent, delivered, opened, clicked, bounced or complained.',
            }),
          },
        ),
      ],
      {
        title: 'Condition',
        description: 'A test on the contact, its scores, tags, lifecycle stage or an event.',
      },
    ),
  { $id: CONDITION_DEF },
);

export type ConditionDefinition = Static<typeof ConditionSchema>;

/** Where a document uses a condition: a reference to the one definition in `$defs`. */
export const Condition = Type.Unsafe<ConditionDefinition>(Type.Ref(CONDITION_DEF));

export const Conditions = (title: string, description: string) =>
  Type.Array(Condition, { title, description, minItems: 1, maxItems: 50 });
