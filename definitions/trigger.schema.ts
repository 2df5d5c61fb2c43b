import { Type } from '@sinclair/typebox';
import {
  ContactAttribute,
  DateTime,
  EventName,
  Label,
  LifecycleStage,
  SignedDuration,
  TimeOfDay,
  TimeZone,
  Weekdays,
} from './common.schema.js';
import { Condition } from './condition.schema.js';
import { TaggedUnion } from './tagged-union.js';

/** What enrolls a contact. A journey may have several triggers; any one enrolls. */

export const EventTrigger = Type.Object(
  {
    type: Type.Literal('event'),
    event: EventName,
    filter: Type.Optional({
      ...Condition,
      description:
        'Only events matching this condition enroll (`event.*` fields are the event’s properties).',
    }),
  },
  {
    title: 'Event trigger',
    description: 'Enrolls the contact when they do something (a `track` event).',
    additionalProperties: false,
  },
);

export const ConditionTrigger = Type.Object(
  { type: Type.Literal('condition'), condition: Condition },
  {
    title: 'Condition trigger',
    description:
      'Enrolls the contact when they start to match the condition (an attribute, score, tag or stage changes).',
    additionalProperties: false,
  },
);

export const LifecycleChangeTrigger = Type.Object(
  {
    type: Type.Literal('lifecycleChange'),
    from: Type.Optional(LifecycleStage),
    to: Type.Optional(LifecycleStage),
  },
  {
    title: 'Lifecycle change',
    description:
      'Enrolls the contact when their lifecycle stage changes (optionally from and to given stages).',
    additionalProperties: false,
  },
);

export const WebhookTrigger = Type.Object(
  {
    type: Type.Literal('webhook'),
    source: Label(
      'Source',
      'The name of the inbound webhook source, such as `stripe` or `typeform`.',
      100,
    ),
    filter: Type.Optional(Condition),
  },
  {
    title: 'Inbound webhook',
    description: 'Enrolls the contact named in an inbound webhook call from this source.',
    additionalProperties: false,
  },
);

const Recurring = Type.Object(
  {
    frequency: Type.Union(
      [Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly')],
      {
        title: 'Frequency',
        description: '`daily`, `weekly` or `monthly`.',
      },
    ),
    time: TimeOfDay,
    weekdays: Type.Optional(Weekdays),
    dayOfMonth: Type.Optional(
      Type.Integer({ title: 'Day of month', description: '1 to 28.', minimum: 1, maximum: 28 }),
    ),
    timezone: TimeZone,
  },
  {
    title: 'Recurrence',
    description: 'When a recurring schedule runs.',
    additionalProperties: false,
  },
);

export const ScheduleTrigger = Type.Object(
  {
    type: Type.Literal('schedule'),
    at: Type.Optional({ ...DateTime, description: 'One-off: when the audience is enrolled.' }),
    recurring: Type.Optional(Recurring),
    audience: Type.Optional({
      ...Condition,
      description: 'Who is enrolled; everyone when left out.',
    }),
  },
  {
    title: 'Schedule',
    description:
      'Enrolls an audience at a date-time (`at`) or on a recurring schedule (`recurring`).',
    additionalProperties: false,
  },
);

export const DateTrigger = Type.Object(
  {
    type: Type.Literal('date'),
    attribute: ContactAttribute,
    offset: Type.Optional(SignedDuration),
    yearly: Type.Optional(
      Type.Boolean({
        title: 'Every year',
        description: 'Repeat every year on the date (birthdays, anniversaries).',
      }),
    ),
    time: Type.Optional(TimeOfDay),
    fallbackTimezone: Type.Optional(TimeZone),
    audience: Type.Optional(Condition),
  },
  {
    title: 'Date trigger',
    description:
      'Enrolls the contact on a date taken from one of their attributes, shifted by `offset` (`-P7D`: a week before `renewal_date`).',
    additionalProperties: false,
  },
);

export const ManualTrigger = Type.Object(
  { type: Type.Literal('manual') },
  {
    title: 'Manual',
    description: 'Contacts are enrolled by hand or through the API.',
    additionalProperties: false,
  },
);

export const Trigger = TaggedUnion(
  [
    EventTrigger,
    ConditionTrigger,
    LifecycleChangeTrigger,
    WebhookTrigger,
    ScheduleTrigger,
    DateTrigger,
    ManualTrigger,
  ],
  { title: 'Trigger', description: 'What enrolls a contact in the journey.' },
);
