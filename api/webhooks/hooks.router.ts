import type { PrismaClient } from '@prisma/client';
import { Router } from 'express';
import { ingest, type EngineDeps, type IncomingMessage } from '../../engine/index.js';
import { attributeSchema, checkAttributes } from '../../engine/contacts/attribute-schema.js';
import { WEBHOOK_SOURCE_PROPERTY } from '../../engine/journeys.js';
import { contactWithEmail } from '../../engine/resolve-contacts.js';
import { rateLimited, webhooksReceived } from '../../metrics/index.js';
import { HttpProblem, invalidInput, PROBLEM_BASE } from '../problem.js';
import { tooManyRequests, type RateLimiter } from '../rate-limit.js';
import { WebhookMappingSchema } from '../schemas/api-security.schema.js';
import { bodyValidator } from '../validate-body.js';
import { applyMapping } from './mapping.js';
import { rawBodyOf } from './raw-body.js';
import { verifyWebhook } from './verify.js';

const validateMapping = bodyValidator(WebhookMappingSchema);

/**
 * The inbound webhook receiver, `POST /v1/hooks/:sourceId`: public, but every request must be
 * signed with the source's secret. An unknown source and a bad signature get the same 401, so
 * the answer does not reveal which source ids exist.
 */
export function hooksRouter(engine: EngineDeps, buckets: RateLimiter): Router {
  const router = Router();

  router.post('/v1/hooks/:sourceId', async (req, res) => {
    const source = await findSource(engine.prisma, req.params.sourceId);
    const raw = rawBodyOf(req);
    const verification =
      source &&
      raw &&
      (source.verification === 'standard-webhooks' || source.verification === 'hmac-sha256')
        ? verifyWebhook(
            {
              verification: source.verification,
              secret: source.secret,
              signatureHeader: source.signatureHeader,
            },
            req.headers,
            raw,
          )
        : null;
    if (!source || !raw || !verification?.ok) {
      webhooksReceived.inc({ outcome: 'unverified' });
      throw new HttpProblem(
        401,
        `${PROBLEM_BASE}unverified-webhook`,
        'Webhook not verified',
        "The request is not signed with this source's secret, or its timestamp is too old or too new.",
      );
    }
    const wait = await buckets.take(`source:${source.id}`);
    if (wait > 0) {
      rateLimited.inc({ by: 'source' });
      res.set('Retry-After', String(wait));
      throw tooManyRequests(wait);
    }
    const mapped = applyMapping(validateMapping(source.mapping), req.body, {
      webhookId: verification.webhookId,
      rawBody: raw,
    });
    if (!mapped.ok) {
      webhooksReceived.inc({ outcome: 'invalid' });
      throw invalidInput(
        "The payload does not fit this source's mapping; nothing was stored.",
        mapped.problems,
      );
    }
    // Mapped traits are checked against the workspace's declared attributes like any identify.
    const schema = await attributeSchema(engine.prisma, source.workspaceId);
    const messages: IncomingMessage[] = [];
    for (const message of mapped.messages) {
      const checked = checkAttributes(schema, message.traits);
      if (!checked.ok) {
        webhooksReceived.inc({ outcome: 'invalid' });
        throw invalidInput(
          "The payload's traits do not fit this workspace's declared attributes; nothing was stored.",
          checked.problems.map((p) => ({ ...p, pointer: `/traits${p.pointer}` })),
        );
      }
      messages.push({ ...message, traits: checked.values });
    }
    // A payload naming the contact by email alone means the contact that holds the address.
    const holder = mapped.byEmail
      ? await contactWithEmail(engine.sql, source.workspaceId, mapped.byEmail)
      : null;
    let last: { eventId: string; stored: boolean } = { eventId: '', stored: false };
    for (const mappedMessage of messages) {
      const message: IncomingMessage = {
        ...mappedMessage,
        ...(holder ? { contactId: holder.id, userId: holder.userId } : {}),
        // Which source the event came from, for the journeys whose `webhook` trigger names it;
        // over anything of that name the mapping gave.
        properties:
          mappedMessage.type === 'track'
            ? { ...mappedMessage.properties, [WEBHOOK_SOURCE_PROPERTY]: source.name }
            : mappedMessage.properties,
      };
      // Through the same ingestion as the event API: durable before the 2xx, then routed.
      const result = await ingest(engine, source.workspaceId, message, 'webhook');
      last = { eventId: result.eventId, stored: result.stored };
    }
    webhooksReceived.inc({ outcome: last.stored ? 'accepted' : 'duplicate' });
    res.status(202).json({ success: true, ...last });
  });

  return router;
}

async function findSource(prisma: PrismaClient, id: string) {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null;
  return prisma.webhookSource.findFirst({ where: { id, revokedAt: null } });
}
