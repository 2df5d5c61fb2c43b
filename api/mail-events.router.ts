import type { Static } from '@sinclair/typebox';
import { createHash } from 'node:crypto';
import { Router } from 'express';
import { EMAIL_ACTIVITY_EVENTS } from '../core/index.js';
import { canonicalJson } from '../definitions/index.js';
import type { EngineDeps } from '../engine/index.js';
import {
  exitSuppressed,
  recordSystemEvent,
  sentEmailOf,
  sentEmailProperties,
  type SentEmail,
} from '../engine/messaging/index.js';
import {
  ADDRESS_EVENTS,
  emailKeyOf,
  messageIdOf,
  suppress,
  webhookSigningSecret,
} from '../mail/index.js';
import { invalidInput } from './problem.js';
import { givenRequestId } from './request-id.js';
import { MailEventsSchema } from './schemas/mail-events.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readBody = bodyValidator(MailEventsSchema);
type MailEvent = Static<typeof MailEventsSchema>['events'][number];

/**
 * The event each report becomes on the contact's timeline, dotted like every other email
 * event: each one an `emailActivity` condition reads when it carries the enrollment and step.
 */
const REPORT_EVENTS = {
  bounce: ADDRESS_EVENTS.bounced,
  complaint: ADDRESS_EVENTS.complained,
  delivery: 'email.delivered',
} as const satisfies Record<MailEvent['type'], keyof typeof EMAIL_ACTIVITY_EVENTS>;

/** The contact a report is about, and the email when its Message-ID is one Drumbeat sent them. */
interface Tied {
  readonly contactId: string;
  readonly sent: SentEmail | null;
}

/**
 * Inbound bounces, complaints and deliveries from a mail relay (authenticated by an API key,
 * like every /v1 route; the key's workspace is the one suppressed in). Hard bounces and
 * complaints suppress the address for good and end journeys whose suppression rule says so;
 * each report is recorded as `email.bounced`, `email.complained` or `email.delivered` for the
 * contact with that address, with the enrollment and step of the email when its Message-ID is
 * one Drumbeat sent. A delivery is only about its email: one without a `messageId` refuses the
 * batch (422) before anything is written; one naming an email Drumbeat did not send to that
 * address is answered under `ignored`. Also shows the `whsec_` secret
 * outbound webhook calls are signed with, for receivers to verify.
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
    const unnamed = events.flatMap((event, i) =>
      event.type === 'delivery' && !event.messageId?.trim()
        ? [
            {
              pointer: `/events/${i}/messageId`,
              code: 'required',
              message: 'A delivery needs the `messageId` of the email that was delivered.',
            },
          ]
        : [],
    );
    if (unnamed.length > 0)
      throw invalidInput('Some deliveries name no email; nothing was recorded.', unnamed);
    // What names this delivery of the reports when a report has no Message-ID: the relay's
    // request id, or else the body and the day, so a retry of a request that failed half-way
    // (the relay sends it again whole) records its first reports once, not twice. Only a plain
    // request id: the header's raw text went into message ids, and one of a few thousand
    // characters failed the insert (a 500 after the suppression, every retry alike).
    const delivery =
      givenRequestId(req) ??
      `${createHash('sha256').update(canonicalJson(req.body)).digest('hex').slice(0, 32)}:${new Date().toISOString().slice(0, 10)}`;
    let suppressed = 0;
    // A delivery of an email Drumbeat did not send (the relay account also sends for others)
    // is answered and left out: refusing it would have the relay retry the bounces beside it.
    const ignored: { index: number; reason: string }[] = [];
    for (const [i, event] of events.entries()) {
      const about = await tie(engine, workspaceId, event);
      if (event.type === 'delivery' && !about?.sent) {
        ignored.push({
          index: i,
          reason: `No email Drumbeat sent to ${event.email} has the Message-ID ${event.messageId ?? ''}.`,
        });
        continue;
      }
      const reason = suppressionOf(event);
      if (
        reason &&
        (await suppress(engine.prisma, {
          workspaceId,
          email: event.email,
          reason,
          scope: '*',
          source: 'webhook',
        }))
      )
        suppressed++;
      if (!about) continue;
      await recordReport(engine, workspaceId, about, event, `${delivery}:${i}`);
      if (reason) await exitSuppressed(engine, workspaceId, about.contactId, reason);
    }
    res.status(200).json({
      received: events.length,
      suppressed,
      ...(ignored.length > 0 ? { ignored } : {}),
    });
  });

  return router;
}

/** Hard bounces and complaints suppress the address for good; soft bounces and deliveries do not. */
function suppressionOf(event: MailEvent): 'bounced' | 'complained' | null {
  if (event.type === 'complaint') return 'complained';
  if (event.type === 'bounce' && event.bounceType !== 'soft') return 'bounced';
  return null;
}

/** The contact with the reported address (null when there is none) and the email named. */
async function tie(
  engine: EngineDeps,
  workspaceId: string,
  event: MailEvent,
): Promise<Tied | null> {
  const contact = await engine.prisma.contact.findFirst({
    where: { workspaceId, emailKey: emailKeyOf(event.email) },
    select: { id: true },
  });
  if (!contact) return null;
  const sent = await sentEmailOf(engine, workspaceId, contact.id, event.messageId);
  return { contactId: contact.id, sent };
}

/**
 * Records the report as the contact's event. Idempotent per address, Message-ID and, for a
 * bounce, its type (or, without a Message-ID, per delivery of the request and place in it): a
 * relay repeating a report records it once, and a hard bounce after a soft one for the same
 * email is a report of its own.
 */
function recordReport(
  engine: EngineDeps,
  workspaceId: string,
  about: Tied,
  event: MailEvent,
  /** Names the report when it has no Message-ID (see the route). */
  delivery: string,
) {
  const name = REPORT_EVENTS[event.type];
  // An email Drumbeat sent is named as it was sent, however the relay spelled it (brackets
  // or not), so a repeat in another spelling is still the same report.
  const reported = about.sent ? messageIdOf(about.sent.id) : event.messageId;
  // Only a bounce has a type (a relay may send one on other reports; it means nothing there).
  const bounceType = event.type === 'bounce' ? (event.bounceType ?? 'hard') : null;
  const kind = bounceType
    ? `${EMAIL_ACTIVITY_EVENTS[name]}:${bounceType}`
    : EMAIL_ACTIVITY_EVENTS[name];
  return recordSystemEvent(engine, {
    workspaceId,
    contactId: about.contactId,
    name,
    messageId: `${kind}:${emailKeyOf(event.email)}:${reported ?? delivery}`,
    properties: {
      email: event.email,
      ...(bounceType ? { bounceType } : {}),
      emailMessageId: event.messageId ?? null,
      ...(about.sent ? sentEmailProperties(about.sent) : {}),
    },
  });
}
