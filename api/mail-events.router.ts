import { timingSafeEqual } from "node:crypto";
import { Type } from '@sinclair/typebox';
import express, { Router, type Request } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { exitSuppressed, recordSystemEvent } from '../engine/messaging/index.js';
import { emailKeyOf, signWebhook, suppress, webhookSigningSecret } from '../mail/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';
import { bodyValidator } from './validate-body.js';

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
    messageId: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
const MailEvents = Type.Object(
  { events: Type.Array(MailEvent, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);
const readBody = bodyValidator(MailEvents);
const TOLERANCE_SEC = 5 * 60;

/**
 * Inbound bounces and complaints from a mail relay, signed with the Standard Webhooks scheme
 * using the same `whsec_` secret Drumbeat signs its outbound calls with (GET
 * /v1/webhooks/signing-secret). Hard bounces and complaints suppress the address for good.
 */
export function mailEventsRouter(engine: EngineDeps, secretKey: string, workspaceOf: (req: Request) => string): Router {
  const router = Router();

  router.get('/v1/webhooks/signing-secret', (_req, res) => {
    res.json({ secret: webhookSigningSecret(secretKey), scheme: 'standard-webhooks' });
  });

  // The signature covers the exact bytes, so this route reads the raw body itself (it is
  // mounted before the app's JSON parser).
  router.post('/v1/mail-events', express.raw({ type: '*/*', limit: '512kb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    verify(secretKey, req, raw);
    const { events } = readBody(parseJson(raw));
    const workspaceId = workspaceOf(req);
    let suppressed = 0;
    for (const event of events) {
      const permanent = event.type === 'complaint' || event.bounceType !== 'soft';
      const reason = event.type === 'complaint' ? 'complained' : 'bounced';
      if (permanent && (await suppress(engine.prisma, { workspaceId, email: event.email, reason, scope: '*', source: 'webhook' })))
        suppressed++;
      const contact = await engine.prisma.contact.findFirst({
        where: { workspaceId, emailKey: emailKeyOf(event.email) },
        select: { id: true },
      });
      if (!contact) continue;
      await recordSystemEvent(engine, {
        workspaceId,
        contactId: contact.id,
        name: event.type === 'complaint' ? 'email_complained' : 'email_bounced',
        messageId: `${reason}:${emailKeyOf(event.email)}:${event.messageId ?? String(req.headers['webhook-id'])}`,
        properties: { email: event.email, bounceType: event.bounceType ?? 'hard', emailMessageId: event.messageId ?? null },
      });
      if (permanent) await exitSuppressed(engine, workspaceId, contact.id, reason);
    }
    res.status(200).json({ received: events.length, suppressed });
  });

  return router;
}

function parseJson(raw: string): unknown {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed;
  } catch {
    throw new HttpProblem(400, `${PROBLEM_BASE}malformed-json`, 'Malformed JSON', 'The request body is not valid JSON.', [
      { pointer: '', code: 'malformed-json', detail: 'The body could not be parsed as JSON.' },
    ]);
  }
}

function verify(secretKey: string, req: Request, raw: string): void {
  const id = req.get('webhook-id');
  const timestamp = Number(req.get('webhook-timestamp'));
  const given = req.get('webhook-signature') ?? '';
  const denied = (detail: string) =>
    new HttpProblem(401, `${PROBLEM_BASE}signature-invalid`, 'Signature not valid', detail);
  if (!id || !Number.isInteger(timestamp) || given === '')
    throw denied('Sign the request with the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature.');
  if (Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SEC)
    throw denied('The webhook-timestamp is more than five minutes away from our clock.');
  const expected = signWebhook(secretKey, id, timestamp, raw)['webhook-signature'] ?? '';
  const ok = given.split(' ').some((candidate) => sameText(candidate, expected));
  if (!ok) throw denied('The webhook-signature does not match the body.');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

