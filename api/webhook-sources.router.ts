import type { PrismaClient, WebhookSource } from '@prisma/client';
import { Router } from 'express';
import { newId } from '../store/index.js';
import { pageOf, pageResult } from './paging.js';
import { notFound } from './problem.js';
import { CreateWebhookSourceSchema } from './schemas/api-security.schema.js';
import { bodyValidator } from './validate-body.js';
import { newWebhookSecret } from './webhooks/verify.js';
import { workspaceOf } from './workspace.js';

const validateCreate = bodyValidator(CreateWebhookSourceSchema);

/**
 * Inbound webhook sources of the caller's workspace. The secret is in the creation (and
 * rotation) response only; deleting a source makes its URL answer 401.
 */
export function webhookSourcesRouter(prisma: PrismaClient, publicUrl: string): Router {
  const router = Router();
  const view = (s: WebhookSource) => ({
    id: s.id,
    name: s.name,
    verification: s.verification,
    signatureHeader: s.signatureHeader,
    mapping: s.mapping,
    url: `${publicUrl}/v1/hooks/${s.id}`,
    createdAt: s.createdAt,
    revokedAt: s.revokedAt,
  });

  router.post('/v1/webhook-sources', async (req, res) => {
    const body = validateCreate(req.body);
    const source = await prisma.webhookSource.create({
      data: {
        id: newId(),
        workspaceId: workspaceOf(req),
        name: body.name,
        verification: body.verification,
        signatureHeader:
          body.verification === 'hmac-sha256'
            ? (body.signatureHeader ?? 'x-signature').toLowerCase()
            : null,
        secret: newWebhookSecret(body.verification),
        mapping: body.mapping,
      },
    });
    res.status(201).json({ ...view(source), secret: source.secret });
  });

  router.get('/v1/webhook-sources', async (req, res) => {
    const page = pageOf(req);
    const rows = await prisma.webhookSource.findMany({
      where: { workspaceId: workspaceOf(req), ...(page.after ? { id: { gt: page.after } } : {}) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    res.json(pageResult(rows, page, view));
  });

  router.get('/v1/webhook-sources/:id', async (req, res) => {
    res.json(view(await find(prisma, workspaceOf(req), req.params.id)));
  });

  router.post('/v1/webhook-sources/:id/rotate-secret', async (req, res) => {
    const source = await find(prisma, workspaceOf(req), req.params.id);
    const verification =
      source.verification === 'hmac-sha256' ? 'hmac-sha256' : 'standard-webhooks';
    const updated = await prisma.webhookSource.update({
      where: { id: source.id },
      data: { secret: newWebhookSecret(verification) },
    });
    res.json({ ...view(updated), secret: updated.secret });
  });

  router.delete('/v1/webhook-sources/:id', async (req, res) => {
    const source = await find(prisma, workspaceOf(req), req.params.id);
    const revoked = await prisma.webhookSource.update({
      where: { id: source.id },
      data: { revokedAt: source.revokedAt ?? new Date() },
    });
    res.json(view(revoked));
  });

  return router;
}

async function find(prisma: PrismaClient, workspaceId: string, id: string): Promise<WebhookSource> {
  const source = await prisma.webhookSource.findFirst({
    where: { id, workspaceId, revokedAt: null },
  });
  if (!source) throw notFound(`Webhook source \`${id}\``);
  return source;
}
