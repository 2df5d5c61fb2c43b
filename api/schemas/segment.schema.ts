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
