import { Type, type Static } from '@sinclair/typebox';

/**
 * Segment-spec messages. Unknown fields (`context`, `integrations`, `sentAt`, ...) are allowed
 * because stock Segment clients send them.
 */
const Common = {
  userId: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()], { title: 'User id' }),
  ),
  anonymousId: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()], {
      title: 'Anonymous id',
    }),
  ),
  messageId: Type.Optional(
    Type.String({
      title: 'Message id',
      description: 'Idempotency key: a message sent twice is stored once.',
      minLength: 1,
      maxLength: 255,
    }),
  ),
  timestamp: Type.Optional(Type.String({ title: 'Timestamp', format: 'date-time' })),
};

export const IdentifySchema = Type.Object(
  {
    ...Common,
    traits: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { title: 'Traits' })),
  },
  {
    $id: 'https://drumbeat.dev/schemas/identify.schema.json',
    title: 'Identify',
    description: 'Who the contact is.',
  },
);

export const TrackSchema = Type.Object(
  {
    ...Common,
    event: Type.String({ title: 'Event name', minLength: 1, maxLength: 200 }),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { title: 'Properties' })),
  },
  {
    $id: 'https://drumbeat.dev/schemas/track.schema.json',
    title: 'Track',
    description: 'Something the contact did.',
  },
);

export type IdentifyBody = Static<typeof IdentifySchema>;
export type TrackBody = Static<typeof TrackSchema>;

/**
 * A Segment `batch` (also what stock clients send to `/v1/import`): each message is checked on
 * its own against the schema of its `type`, so one bad message does not sink the rest.
 */
export const BatchSchema = Type.Object(
  {
    batch: Type.Array(
      Type.Object(
        {
          type: Type.String({
            title: 'Message type',
            description: '`identify`, `track`, `page` or `screen`.',
          }),
        },
        { title: 'Message' },
      ),
      { title: 'Messages', minItems: 1, maxItems: 500 },
    ),
  },
  {
    $id: 'https://drumbeat.dev/schemas/batch.schema.json',
    title: 'Batch',
    description: 'Up to 500 messages (500 KB) in one request.',
  },
);

/** Segment `page` and `screen` calls; stored as `page_viewed` / `screen_viewed` track events. */
export const PageSchema = Type.Object(
  {
    ...Common,
    name: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { title: 'Properties' })),
  },
  {
    $id: 'https://drumbeat.dev/schemas/page.schema.json',
    title: 'Page or screen',
    description: 'A page or screen the contact viewed.',
  },
);

export type BatchBody = Static<typeof BatchSchema>;
export type PageBody = Static<typeof PageSchema>;
