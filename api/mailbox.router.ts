import type { PrismaClient } from '@prisma/client';
import { Router } from 'express';
import { notFound } from './problem.js';

/**
 * The embedded SMTP sink's mailbox: every message "sent" in development, newest first, with
 * its HTML and raw source. Absent when mail goes through a real relay (SMTP_URL).
 */
export function mailboxRouter(prisma: PrismaClient): Router {
  const router = Router();

  router.get('/v1/mailbox', async (req, res) => {
    const to = typeof req.query.to === 'string' ? req.query.to : undefined;
    const messages = await prisma.capturedMail.findMany({
      where: to ? { to: { has: to } } : {},
      orderBy: { id: 'desc' },
      take: 100,
      select: { id: true, messageId: true, from: true, to: true, subject: true, receivedAt: true },
    });
    res.json({ data: messages });
  });

  router.get('/v1/mailbox/:id', async (req, res) => {
    const mail = await prisma.capturedMail.findUnique({
      where: { id: req.params.id },
      omit: { raw: true },
    });
    if (!mail) throw notFound(`Message ${req.params.id}`);
    res.json(mail);
  });

  router.get('/v1/mailbox/:id/html', async (req, res) => {
    const mail = await prisma.capturedMail.findUnique({
      where: { id: req.params.id },
      select: { html: true, text: true },
    });
    if (!mail) throw notFound(`Message ${req.params.id}`);
    // The message is shown as a document of its own, with no scripts and no access to the API.
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox",
    );
    res.type('html').send(mail.html ?? `<pre>${escapeHtml(mail.text ?? '')}</pre>`);
  });

  router.get('/v1/mailbox/:id/raw', async (req, res) => {
    const mail = await prisma.capturedMail.findUnique({
      where: { id: req.params.id },
      select: { raw: true },
    });
    if (!mail) throw notFound(`Message ${req.params.id}`);
    res.type('message/rfc822').send(mail.raw);
  });

  return router;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
