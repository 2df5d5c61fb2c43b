import { Type, type Static } from '@sinclair/typebox';

const Attributes = Type.Record(Type.String(), Type.Unknown());
const Names = (what: string) =>
  Type.Array(Type.String({ maxLength: 200 }), { maxItems: 200, description: what });
const Scores = Type.Record(Type.String(), Type.Number());
const Stage = Type.String({ maxLength: 64 });

/** The journey to try: a definition, or the key of a stored one. */
const WhichJourney = {
  journey: Type.Optional(Type.Unknown({ description: 'A journey definition to try, unsaved.' })),
  key: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Or the id of a stored journey (its latest version, draft or not).',
    }),
  ),
};

/** A journey preview: the definition (or a published journey's id), contacts and what they do. */
export const SimulateSchema = Type.Object(
  {
    ...WhichJourney,
    start: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'Virtual time at which the preview starts; default now, or the earliest `at` or `enrollAt` given.',
      }),
    ),
    end: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Virtual time at which it stops; default 90 days after start.',
      }),
    ),
    contacts: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 255 }),
          attributes: Type.Optional(Attributes),
          timezone: Type.Optional(Type.String({ maxLength: 64 })),
          scores: Type.Optional(Scores),
          lifecycleStage: Type.Optional(Stage),
          tags: Type.Optional(Names('Its tags.')),
          lists: Type.Optional(Names('The keys of the static lists it is on.')),
          enrollAt: Type.Optional(
            Type.String({ format: 'date-time', description: 'Enroll directly at this time.' }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
    timeline: Type.Optional(
      Type.Array(
        Type.Object(
          {
            at: Type.String({ format: 'date-time' }),
            contactId: Type.String({ minLength: 1, maxLength: 255 }),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            properties: Type.Optional(Attributes),
            update: Type.Optional(
              Type.Object(
                {
                  attributes: Type.Optional(Attributes),
                  scores: Type.Optional(Scores),
                  lifecycleStage: Type.Optional(Stage),
                  tags: Type.Optional(Names('Its tags from then on (all of them).')),
                  lists: Type.Optional(Names('Its lists from then on (all of them).')),
                },
                {
                  additionalProperties: false,
                  description:
                    'A change to the contact: attributes merge; scores, stage, tags and lists replace.',
                },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100_000 },
      ),
    ),
  },
  {
    $id: 'https://drumbeat.dev/schemas/simulate.schema.json',
    title: 'Simulation',
    additionalProperties: false,
  },
);

export type SimulateBody = Static<typeof SimulateSchema>;

/** A backtest: a journey (definition or stored id) replayed over a past window of real events. */
export const BacktestSchema = Type.Object(
  {
    ...WhichJourney,
    from: Type.String({
      format: 'date-time',
      description: 'Start of the window of stored events to replay.',
    }),
    to: Type.Optional(
      Type.String({ format: 'date-time', description: 'End of the window; default now.' }),
    ),
    maxContacts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: 'Contacts that take part at most, earliest events first; default 2,000.',
      }),
    ),
  },
  {
    $id: 'https://drumbeat.dev/schemas/backtest.schema.json',
    title: 'Backtest',
    additionalProperties: false,
  },
);

export type BacktestBody = Static<typeof BacktestSchema>;
