import { Type } from '@sinclair/typebox';

/** `POST /v1/mail-events`: what a mail relay reports about the addresses and emails it handled. */
const MailEvent = Type.Object(
  {
    type: Type.Union(
      [Type.Literal('bounce'), Type.Literal('complaint'), Type.Literal('delivery')],
      {
        description:
          'What the relay reports: `bounce`, `complaint` (both about the address) or `delivery` (about one email, named by `messageId`).',
      },
    ),
    email: Type.String({ minLength: 3, maxLength: 320, description: 'The recipient address.' }),
    bounceType: Type.Optional(
      Type.Union([Type.Literal('hard'), Type.Literal('soft')], {
        description: 'Hard bounces suppress the address; soft ones are only recorded.',
      }),
    ),
    messageId: Type.Optional(
      Type.String({
        maxLength: 500,
        description:
          'The Message-ID of the email the report is about, as sent (`<…@…>`, brackets optional): ties the report to the journey step that sent it. Required for a delivery.',
      }),
    ),
  },
  { additionalProperties: false },
);
export const MailEventsSchema = Type.Object(
  { events: Type.Array(MailEvent, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false, title: 'Mail events' },
);
