import { Type } from '@sinclair/typebox';

/** One of a few words, as a plain JSON Schema `enum` (clear errors, typed as the union). */
export function OneOf<const T extends readonly string[]>(
  values: T,
  options: { title: string; description: string },
) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** Building blocks every document type shares. Patterns here are the first line of checks. */

export const ID_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,63}$';

export const StepId = Type.String({
  title: 'Step id',
  description: 'Names the step; other steps refer to it. Letters, digits, `-` and `_`.',
  pattern: ID_PATTERN,
});

export const StepRef = Type.String({
  title: 'Next step',
  description: 'The id of the step that follows.',
  pattern: ID_PATTERN,
});

export const Duration = Type.String({
  title: 'Duration',
  description: 'An ISO 8601 duration such as `PT2H`, `P3D` or `P1W`.',
  pattern: '^P(?:\\d+W)?(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d{1,3})?S)?)?$',
  maxLength: 40,
});

export const SignedDuration = Type.String({
  title: 'Offset',
  description:
    'An ISO 8601 duration, negative for "before": `-P7D` is a week before, `PT9H` nine hours after.',
  pattern: '^-?P(?:\\d+W)?(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d{1,3})?S)?)?$',
  maxLength: 41,
});

export const TimeOfDay = Type.String({
  title: 'Time of day',
  description: 'A 24-hour local time, `HH:MM`, such as `09:00`.',
  pattern: '^(?:[01]\\d|2[0-3]):[0-5]\\d$',
});

export const Weekday = OneOf(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], {
  title: 'Weekday',
  description: 'A day of the week: `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.',
});

export const Weekdays = Type.Array(Weekday, {
  title: 'Weekdays',
  description: 'Allowed days of the week.',
  minItems: 1,
  maxItems: 7,
  uniqueItems: true,
});

export const TimeZone = Type.String({
  title: 'Time zone',
  description: 'An IANA time zone name, such as `Europe/Berlin` or `America/New_York`.',
  pattern: '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$',
});

export const FIELD_PATTERN =
  '^(?:(?:contact|event|trigger)(?:\\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,4}|score\\.[A-Za-z][A-Za-z0-9_-]{0,63}|lifecycleStage|tags|lists)$';

export const FieldPath = Type.String({
  title: 'Field',
  description:
    'What a condition looks at: `contact.<attribute>`, `event.<property>` (the event being matched), `trigger.<property>` (the event that enrolled the contact), `score.<name>`, `lifecycleStage`, `tags` or `lists`.',
  pattern: FIELD_PATTERN,
});

export const ContactAttribute = Type.String({
  title: 'Contact attribute',
  description: 'The name of a contact attribute, such as `plan` or `renewal_date`.',
  pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
});

export const LIFECYCLE_STAGES = [
  'subscriber',
  'lead',
  'mql',
  'sql',
  'opportunity',
  'customer',
  'evangelist',
  'other',
] as const;

export const LifecycleStage = OneOf(LIFECYCLE_STAGES, {
  title: 'Lifecycle stage',
  description:
    'Where the contact is in the funnel: subscriber, lead, mql, sql, opportunity, customer, evangelist or other.',
});

export const Label = (title: string, description: string, maxLength = 200) =>
  Type.String({ title, description, minLength: 1, maxLength });

export const EventName = Label(
  'Event name',
  'The name of a `track` event, such as `Order Completed`.',
);

export const DateTime = Type.String({
  title: 'Date and time',
  description: 'An ISO 8601 date-time with a zone, such as `2025-06-01T09:00:00Z`.',
  format: 'date-time',
});
