import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { recordSystemEvent, sentEmailProperties } from '../engine/messaging/index.js';
import { linkSigner } from '../mail/index.js';
import type { SigningConfig } from './signing-config.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * Open pixel and click redirects (only in emails of workspaces that turned tracking on).
 * Tokens are signed; a click redirects only to a URL that was in that very message, so the
 * endpoint cannot be used as an open redirect. Both become events (`email.opened`,
 * `email.clicked`, the names score rules and the simulator use) carrying the enrollment and
 * step: one open per message, one click per (message, URL), however often they are loaded.
 */
export function trackingRouter(engine: EngineDeps, signing: SigningConfig): Router {
  const router = Router();
  const links = linkSigner(signing.publicUrl, signing.secretKey);

  router.get('/t/o/:token', async (req, res) => {
    const ref = links.readRecipient('open', String(req.params.token));
    const message = ref?.m
      ? await engine.prisma.emailMessage.findUnique({ where: { id: ref.m } })
      : null;
    if (message) {
      await recordSystemEvent(engine, {
        workspaceId: message.workspaceId,
        contactId: message.contactId,
        name: 'email.opened',
        messageId: `email.opened:${message.id}`,
        properties: sentEmailProperties(message),
      });
    }
    // Always the pixel, even for a bad token: an image request has no one to show an error to.
    res.set('Cache-Control', 'no-store').type('image/gif').send(PIXEL);
  });

  router.get('/t/c/:token', async (req, res) => {
    const click = links.readClick(String(req.params.token));
    const message = click
      ? await engine.prisma.emailMessage.findUnique({ where: { id: click.m } })
      : null;
    if (!click || !message || !message.links.includes(click.u))
      throw new HttpProblem(
        404,
        `${PROBLEM_BASE}link-invalid`,
        'Link not valid',
        'This link is damaged or does not belong to an email we sent.',
      );
    await recordSystemEvent(engine, {
      workspaceId: message.workspaceId,
      contactId: message.contactId,
      name: 'email.clicked',
      messageId: `email.clicked:${message.id}:${createHash('sha256').update(click.u).digest('hex').slice(0, 16)}`,
      properties: { ...sentEmailProperties(message), url: click.u },
    });
    res.redirect(302, click.u);
  });

  return router;
}
