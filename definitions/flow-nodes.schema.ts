import { Type } from '@sinclair/typebox';
import {
  DateTime,
  Duration,
  EventName,
  FieldPath,
  Label,
  SignedDuration,
  StepId,
  StepRef,
  TimeOfDay,
  TimeZone,
  Weekdays,
} from './common.schema.js';
import { Condition } from './condition.schema.js';

/**
 * Wait, branch and exit nodes: they move the contact through the journey without side
 * effects. Every wait holds no worker resources: it is a durable timer or signal wait.
 */

const Jitter = {
  ...Duration,
  title: 'Jitter',
  description: 'Adds a random delay up to this long, stable per contact (spreads load).',
};
const Next = Type.Optional(StepRef);

export const WaitNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('wait'),
    duration: Duration,
    jitter: Type.Optional(Jitter),
    next: Next,
  },
  {
    title: 'Wait',
    description: 'Pauses the contact for a fixed time before the next step.',
    additionalProperties: false,
  },
);

export const WaitUntilNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('waitUntil'),
    at: Type.Optional(DateTime),
    field: Type.Optional({
      ...FieldPath,
      title: 'Date field',
      description:
        'A date to wait for: a contact attribute such as `contact.renewal_date`, or `trigger.starts_at`.',
    }),
    offset: Type.Optional(SignedDuration),
    jitter: Type.Optional(Jitter),
    next: Next,
  },
  {
    title: 'Wait until a date',
    description:
      'Waits until a date-time (`at`) or a date field plus `offset`; goes on at once when that is past or unknown.',
    additionalProperties: false,
  },
);

export const WaitForTimeNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('waitForTime'),
    time: TimeOfDay,
    weekdays: Type.Optional(Weekdays),
    fallbackTimezone: Type.Optional({
      ...TimeZone,
      description: 'For contacts without a known time zone. Default `UTC`.',
    }),
    jitter: Type.Optional(Jitter),
    next: Next,
  },
  {
    title: 'Wait for a time of day',
    description:
      'Waits until the next `time` (on one of `weekdays`) in the contact’s own time zone.',
    additionalProperties: false,
  },
);

export const WaitForEventNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('waitForEvent'),
    event: EventName,
    filter: Type.Optional(Condition),
    correlate: Type.Optional(
      Type.String({
        title: 'Correlate on',
        description:
          'A property of the awaited event that must equal this enrollment’s entry key (such as `order_id`).',
        pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
      }),
    ),
    timeout: Type.Optional({
      ...Duration,
      title: 'Timeout',
      description: 'How long to wait for the event.',
    }),
    onTimeout: Type.Optional({
      ...StepRef,
      title: 'On timeout',
      description: 'The step that follows when the event does not come in time.',
    }),
    next: Next,
  },
  {
    title: 'Wait for an event',
    description:
      'Waits until the contact does something (`next`), or until the timeout (`onTimeout`).',
    additionalProperties: false,
  },
);

export const WaitForConditionNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('waitForCondition'),
    condition: Condition,
    timeout: Type.Optional({
      ...Duration,
      title: 'Timeout',
      description: 'How long to wait for the condition.',
    }),
    onTimeout: Type.Optional({
      ...StepRef,
      title: 'On timeout',
      description: 'The step that follows when the condition does not become true in time.',
    }),
    recheckEvery: Type.Optional({
      ...Duration,
      title: 'Recheck every',
      description: 'Also look again this often (for time-based conditions). Default `PT1H`.',
    }),
    next: Next,
  },
  {
    title: 'Wait for a condition',
    description: 'Waits until the condition is true (`next`), or until the timeout (`onTimeout`).',
    additionalProperties: false,
  },
);

const Case = Type.Object(
  {
    name: Type.Optional(Label('Name', 'Names the path in reports.', 100)),
    condition: Condition,
    next: StepRef,
  },
  {
    title: 'Case',
    description: 'A path taken when its condition is true.',
    additionalProperties: false,
  },
);

export const BranchNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('branch'),
    cases: Type.Array(Case, {
      title: 'Cases',
      description: 'Checked in order; the first true one wins.',
      minItems: 1,
      maxItems: 20,
    }),
    else: Type.Optional({
      ...StepRef,
      title: 'Otherwise',
      description: 'Where to go when no case is true. Default: the step after this one.',
    }),
  },
  {
    title: 'Branch',
    description:
      'If/else or multi-way split on the contact, their scores, tags, stage, the trigger event or earlier email activity.',
    additionalProperties: false,
  },
);

const Arm = Type.Object(
  {
    name: Type.Optional(Label('Name', 'Names the arm in reports, such as `A`.', 100)),
    weight: Type.Number({
      title: 'Weight',
      description: 'Relative share of contacts, such as 50.',
      exclusiveMinimum: 0,
      maximum: 1_000_000,
    }),
    next: StepRef,
  },
  { title: 'Arm', description: 'One path of a random split.', additionalProperties: false },
);

export const SplitNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('split'),
    arms: Type.Array(Arm, {
      title: 'Arms',
      description: 'The paths and their weights.',
      minItems: 1,
      maxItems: 20,
    }),
    holdout: Type.Optional(
      Type.Number({
        title: 'Hold-out weight',
        description: 'Share of contacts held out as a control group: they leave here.',
        minimum: 0,
        maximum: 1_000_000,
      }),
    ),
  },
  {
    title: 'Random split',
    description: 'Sends each contact down one arm by weight; a contact always gets the same arm.',
    additionalProperties: false,
  },
);

export const ExitNode = Type.Object(
  {
    id: StepId,
    type: Type.Literal('exit'),
    reason: Type.Optional(Label('Reason', 'Recorded with the enrollment.', 200)),
  },
  {
    title: 'Exit',
    description: 'Ends the journey for the contact here.',
    additionalProperties: false,
  },
);

export const WAIT_NODES = [
  WaitNode,
  WaitUntilNode,
  WaitForTimeNode,
  WaitForEventNode,
  WaitForConditionNode,
] as const;
export const BRANCH_NODES = [BranchNode, SplitNode] as const;
