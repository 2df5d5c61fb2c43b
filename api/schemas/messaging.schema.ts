import { Type, type Static } from '@sinclair/typebox';
import { Duration, TimeOfDay, TimeZone, Weekdays } from '../../definitions/common.schema.js';

/** The workspace's sending rules (`PUT /v1/messaging-policy`): every field optional. */
export const MessagingPolicySchema = Type.Object(
  {
    quietHours: Type.Optional(
      Type.Union(
        [
          Type.Object(
            { start: TimeOfDay, end: TimeOfDay },
            { additionalProperties: false, title: 'Quiet hours' },
          ),
          Type.Null(),
        ],
        {
          description:
            'No marketing email between `start` and `end` in the contact’s time zone (may wrap midnight); held emails go at `end`. Null: none.',
        },
      ),
    ),
    sendDays: Type.Optional(
      Type.Union([Weekdays, Type.Null()], {
        description:
          'Days marketing email may go out, in the contact’s time zone. Null or absent: every day.',
      }),
    ),
    fallbackTimezone: Type.Optional({
      ...TimeZone,
      description: 'For contacts without a known time zone. Default `UTC`.',
    }),
    frequencyCap: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              count: Type.Integer({ minimum: 1, maximum: 1000, title: 'Emails' }),
              per: { ...Duration, title: 'Period', description: 'From one minute to a year.' },
            },
            { additionalProperties: false, title: 'Frequency cap' },
          ),
          Type.Null(),
        ],
        {
          description:
            'At most `count` counted marketing emails per contact in any `per`; more wait for a free slot, in priority order. Null: no cap.',
        },
      ),
    ),
    transactional: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$' }), {
        maxItems: 50,
        uniqueItems: true,
        description:
          'Email categories exempt from every rule here and from unsubscribes by category (receipts, password resets). Default `["transactional"]`.',
      }),
    ),
    trackOpens: Type.Optional(Type.Boolean({ description: 'Add an open pixel. Default false.' })),
    trackClicks: Type.Optional(
      Type.Boolean({ description: 'Send links through the click redirect. Default false.' }),
    ),
    from: Type.Optional(
      Type.Union([Type.String({ minLength: 3, maxLength: 320 }), Type.Null()], {
        description:
          'Sender of the workspace’s email, `Name <address>` or an address. Null: MAIL_FROM.',
      }),
    ),
    replyTo: Type.Optional(
      Type.Union([Type.String({ minLength: 3, maxLength: 320 }), Type.Null()], {
        description: 'Reply-To of the workspace’s email. Null: none.',
      }),
    ),
  },
  { additionalProperties: false, title: 'Messaging policy' },
);
export type MessagingPolicyBody = Static<typeof MessagingPolicySchema>;
