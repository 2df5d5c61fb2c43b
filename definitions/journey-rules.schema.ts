import { Type } from '@sinclair/typebox';
import {
  Duration,
  EventName,
  FieldPath,
  ID_PATTERN,
  OneOf,
  TimeOfDay,
  TimeZone,
  Weekdays,
} from './common.schema.js';
import { Condition, Conditions } from './condition.schema.js';
import { TaggedUnion } from './tagged-union.js';

/** Journey-wide rules: who may enter and how often, what ends an enrollment early, settings. */

export const EntryRules = Type.Object(
  {
    reentry: Type.Optional(
      OneOf(['once', 'afterExit', 'everyTime', 'coolDown'], {
        title: 'Re-entry',
        description:
          '`once` ever (default), again `afterExit`, `everyTime` the trigger fires, or after a `coolDown`.',
      }),
    ),
    coolDown: Type.Optional({
      ...Duration,
      title: 'Cool-down',
      description: 'With `coolDown`: how long after an entry before the next.',
    }),
    maxEntries: Type.Optional(
      Type.Integer({
        title: 'Maximum entries',
        description: 'How many times one contact may enter, at most.',
        minimum: 1,
        maximum: 1000,
      }),
    ),
    key: Type.Optional({
      ...FieldPath,
      title: 'Entry key',
      description:
        'A field such as `trigger.order_id`: distinct values are distinct enrollments, repeats are ignored.',
    }),
    condition: Type.Optional({
      ...Condition,
      description: 'Checked at entry: contacts not matching it are not enrolled.',
    }),
    enrollExisting: Type.Optional(
      Type.Boolean({
        title: 'Enroll existing contacts',
        description:
          "On publish, enroll contacts who already match a condition trigger, or are already at a lifecycleChange trigger's `to` stage.",
      }),
    ),
  },
  {
    title: 'Entry rules',
    description: 'Who may enter the journey, and how often.',
    additionalProperties: false,
  },
);

const CriterionId = Type.String({
  title: 'Id',
  description: 'Names the goal or exit in reports.',
  pattern: ID_PATTERN,
});

const EventCriterion = Type.Object(
  {
    id: CriterionId,
    type: Type.Literal('event'),
    event: EventName,
    filter: Type.Optional(Condition),
  },
  {
    title: 'When an event happens',
    description: 'Met when the contact does this (optionally matching the filter).',
    additionalProperties: false,
  },
);

const ConditionCriterion = Type.Object(
  { id: CriterionId, type: Type.Literal('condition'), condition: Condition },
  {
    title: 'When a condition holds',
    description: 'Met as soon as the condition is true.',
    additionalProperties: false,
  },
);

export const Criterion = TaggedUnion([EventCriterion, ConditionCriterion], {
  title: 'Goal or exit',
  description: 'An event or a condition that ends the enrollment at once, whatever step it is in.',
});

export const Goals = Type.Array(Criterion, {
  title: 'Goals',
  description: 'Meeting any goal ends the enrollment as a conversion.',
  minItems: 1,
  maxItems: 20,
});

export const Exits = Type.Array(Criterion, {
  title: 'Exit criteria',
  description: 'Meeting any of these ends the enrollment (not a conversion).',
  minItems: 1,
  maxItems: 20,
});

export const Suppression = Conditions(
  'Suppression',
  'Contacts matching any of these (for example unsubscribed) leave the journey at once.',
);

export const JourneySettings = Type.Object(
  {
    quietHours: Type.Optional(
      Type.Object(
        { start: TimeOfDay, end: TimeOfDay },
        {
          title: 'Quiet hours',
          description:
            'No emails between `start` and `end`, contact’s local time; they wait until `end`.',
          additionalProperties: false,
        },
      ),
    ),
    sendDays: Type.Optional({
      ...Weekdays,
      title: 'Send days',
      description: 'Days on which emails may go out, contact’s local time.',
    }),
    fallbackTimezone: Type.Optional({
      ...TimeZone,
      description: 'Used for contacts without a known time zone. Default `UTC`.',
    }),
    countsTowardFrequencyCap: Type.Optional(
      Type.Boolean({
        title: 'Counts toward frequency cap',
        description: 'Whether this journey’s emails count toward the global cap (default true).',
      }),
    ),
    rateLimit: Type.Optional(
      Type.Object(
        {
          count: Type.Integer({
            title: 'Count',
            description: 'How many outbound webhook calls…',
            minimum: 1,
            maximum: 1_000_000,
          }),
          per: { ...Duration, description: '…per this period, for the whole journey.' },
        },
        {
          title: 'Webhook rate limit',
          description:
            'At most `count` calls of the journey’s `webhook` steps per `per`, across all contacts; calls over it wait for a free slot, none is dropped. Emails are not limited by it (see the frequency cap).',
          additionalProperties: false,
        },
      ),
    ),
    priority: Type.Optional(
      Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high')], {
        title: 'Priority',
        description: 'Which journey’s email goes first when a frequency cap allows only one.',
      }),
    ),
  },
  {
    title: 'Settings',
    description: 'How the journey behaves as a whole.',
    additionalProperties: false,
  },
);
