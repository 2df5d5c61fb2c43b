import { Type, type Static } from '@sinclair/typebox';

const Attributes = Type.Record(Type.String(), Type.Unknown());

/** A journey preview: the definition (or a published journey's id), contacts and what they do. */
export const SimulateSchema = Type.Object(
  {
    journey: Type.Optional(Type.Unknown({ description: 'A journey definition to try, unsaved.' })),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Or the id of a stored journey (its latest version, draft or not).',
      }),
    ),
    start: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Virtual time at which the preview starts; default now.',
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
          scores: Type.Optional(Type.Record(Type.String(), Type.Number())),
          lifecycleStage: Type.Optional(Type.String({ maxLength: 64 })),
          tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 200 })),
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
                { attributes: Type.Optional(Attributes) },
                { additionalProperties: false },
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
