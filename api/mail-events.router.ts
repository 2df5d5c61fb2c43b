import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import {
  exitSuppressed,
  recordSystemEvent,
  sentEmailOf,
  sentEmailProperties,
} from '../engine/messaging/index.js';
import { ADDRESS_EVENTS, emailKeyOf, suppress, webhookSigningSecret } from '../mail/index.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const MailEvent = Type.Object(
  {
    type: Type.Union([Type.Literal('bounce'), Type.Literal('complaint')], {
      description: 'What the relay reports.',
    }),
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
          'The Message-ID of the email that bounced or was complained about, as sent (`<…@…>`, brackets optional): ties the report to the journey step that sent it.',
      }),
    ),
  },
  { additionalProperties: false },
);
const MailEvents = Type.Object(
  { events: Type.Array(MailEvent, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);
const readBody = bodyValidator(MailEvents);

/**
 * Inbound bounces and complaints from a mail relay (authenticated by an API key, like every
 * /v1 route; the key's workspace is the one suppressed in). Hard bounces and complaints
 * suppress the address for good and end journeys whose suppression rule says so; each event is
 * recorded as `email.bounced` or `email.complained` for the contact with that address, with the
 * enrollment and step of the email when its Message-ID is one Drumbeat sent. Also shows
 * the `whsec_` secret outbound webhook calls are signed with, for receivers to verify.
 */
export function mailEventsRouter(engine: EngineDeps, secretKey: string): Router {
  const router = Router();

  router.get('/v1/webhooks/signing-secret', (req, res) => {
    res.json({
      secret: webhookSigningSecret(secretKey, workspaceOf(req)),
      scheme: 'standard-webhooks',
    });
  });

  router.post('/v1/mail-events', async (req, res) => {
    const { events } = readBody(req.body);
    const workspaceId = workspaceOf(req);
    let suppressed = 0;
    for (const event of events) {
      const permanent = event.type === 'complaint' || event.bounceType !== 'soft';
      const reason = event.type === 'complaint' ? 'complained' : 'bounced';
      if (
        permanent &&
        (await suppress(engine.prisma, {
          workspaceId,
          email: event.email,
          reason,
          scope: '*',
          source: 'webhook',
        }))
      )
        suppressed++;
      const contact = await engine.prisma.contact.findFirst({
        where: { workspaceId, emailKey: emailKeyOf(event.email) },
        select: { id: true },
      });
      if (!contact) continue;
      const sent = await sentEmailOf(engine, workspaceId, contact.id, event.messageId);
      await recordSystemEvent(engine, {
        workspaceId,
        contactId: contact.id,
        name: ADDRESS_EVENTS[reason],
        messageId: `${reason}:${emailKeyOf(event.email)}:${event.messageId ?? String(req.get('x-request-id') ?? Date.now())}`,
        properties: {
          email: event.email,
          bounceType: event.bounceType ?? 'hard',
          emailMessageId: event.messageId ?? null,
          ...(sent ? sentEmailProperties(sent) : {}),
        },
      });
      if (permanent) await exitSuppressed(engine, workspaceId, contact.id, reason);
    }
    res.status(200).json({ received: events.length, suppressed });
  });

  return router;
}
