import type { Contact } from '@prisma/client';
import express, { Router, type Request } from 'express';
import { ALL, changeSubscription } from '../engine/contacts/subscriptions.js';
import type { EngineDeps } from '../engine/index.js';
import { unsubscribe } from '../engine/messaging/index.js';
import { linkedContact } from '../engine/messaging/unsubscribe.js';
import {
  emailKeyOf,
  linkSigner,
  loadMessagingPolicy,
  type LinkSigner,
  type RecipientRef,
} from '../mail/index.js';
import type { SigningConfig } from './signing-config.js';
import { escapeHtml, htmlPage } from './html-page.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';
import { isRecord } from '../core/index.js';

/**
 * The links in every marketing email. `POST /u/:token` is RFC 8058 one-click
 * (mailbox providers post `List-Unsubscribe=One-Click` as a form); the GET shows a page with
 * one button, since link scanners fetch GETs and must not unsubscribe anyone. The preferences
 * page turns categories on and off. Mounted before the JSON-only check: these take forms.
 */
export function unsubscribeRouter(engine: EngineDeps, signing: SigningConfig): Router {
  const router = Router();
  const links = linkSigner(signing.publicUrl, signing.secretKey);
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  router.get('/u/:token', (req, res) => {
    const ref = recipient(links, req);
    res.type('html').send(
      htmlPage(
        'Unsubscribe',
        `<p>Stop marketing emails to <strong>${escapeHtml(ref.e)}</strong>?</p>
<form method="post"><button type="submit" style="font-size:1rem;padding:.5rem 1rem">Unsubscribe</button></form>
<p><a href="/u/${escapeHtml(String(req.params.token))}/preferences">Choose which emails you get instead</a></p>`,
      ),
    );
  });

  router.post('/u/:token', form, async (req, res) => {
    const ref = recipient(links, req);
    const oneClick = isRecord(req.body) && req.body['List-Unsubscribe'] === 'One-Click';
    await unsubscribe(engine, ref, '*', oneClick ? 'one-click' : 'link');
    res
      .type('html')
      .send(
        htmlPage(
          'You are unsubscribed',
          `<p>${escapeHtml(ref.e)} will get no more marketing emails from us.</p>`,
        ),
      );
  });

  router.get('/u/:token/preferences', async (req, res) => {
    const ref = recipient(links, req);
    const contact = await linkedContact(engine, ref);
    const categories = await knownCategories(engine, ref, contact);
    const off = await suppressedScopes(engine, ref);
    const boxes = categories
      .map(
        (c) =>
          `<label style="display:block;margin:.4rem 0"><input type="checkbox" name="category" value="${escapeHtml(c)}"${off.has(c) || off.has('*') ? '' : ' checked'}> ${escapeHtml(c)}</label>`,
      )
      .join('');
    res.type('html').send(
      htmlPage(
        'Email preferences',
        `<p>Emails to <strong>${escapeHtml(ref.e)}</strong>:</p><form method="post">${boxes}
<label style="display:block;margin:1rem 0"><input type="checkbox" name="all" value="off"${off.has('*') ? ' checked' : ''}> No marketing emails at all</label>
<button type="submit">Save</button></form>`,
      ),
    );
  });

  router.post('/u/:token/preferences', form, async (req, res) => {
    const ref = recipient(links, req);
    const body: Record<string, unknown> = isRecord(req.body) ? req.body : {};
    const raw = body.category;
    const wanted = new Set(
      Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [],
    );
    if (body.all === 'off') {
      await unsubscribe(engine, ref, '*', 'preferences');
    } else {
      // Saving the page with "no emails at all" unticked is a resubscribe to what is ticked.
      // What is unticked is turned off first, while an unsubscribe from everything still holds:
      // a save that fails part-way leaves the address getting less than it asked, never more.
      const contact = await linkedContact(engine, ref);
      const categories = await knownCategories(engine, ref, contact);
      for (const category of categories)
        if (!wanted.has(category)) await unsubscribe(engine, ref, category, 'preferences');
      await resubscribe(engine, ref, contact, ALL);
      for (const category of categories)
        if (wanted.has(category)) await resubscribe(engine, ref, contact, category);
    }
    res
      .type('html')
      .send(
        htmlPage('Preferences saved', '<p>Thank you; your choices apply from the next email.</p>'),
      );
  });

  return router;
}

function recipient(links: LinkSigner, req: Request): RecipientRef {
  const ref = links.readRecipient('unsubscribe', String(req.params.token));
  if (!ref)
    throw new HttpProblem(
      404,
      `${PROBLEM_BASE}link-invalid`,
      'Link not valid',
      'This unsubscribe link is damaged or was not made by us. Use the link in your latest email.',
    );
  return ref;
}

/**
 * Turns `all` or a category back on as the subscriptions API does (engine/contacts/
 * subscriptions.ts): the unsubscribe goes, and turning everything back on takes the
 * `unsubscribed` tag and attribute off, so journeys' suppression rules no longer hold, and
 * records `email.subscribed`. It is about the address the link was sent to, whatever the
 * contact's address is now. As there, an address that bounced or complained stays as it is
 * (clearing that is for admins). With no contact to write to (erased, or gone), only the
 * address's unsubscribe is removed.
 */
async function resubscribe(
  engine: EngineDeps,
  ref: RecipientRef,
  contact: Contact | null,
  category: string,
): Promise<void> {
  const emailKey = emailKeyOf(ref.e);
  if (contact) {
    const addressed = { ...contact, email: ref.e, emailKey };
    await changeSubscription(engine, addressed, category, 'subscribed', 'preferences', false);
    return;
  }
  await engine.prisma.suppression.deleteMany({
    where: {
      workspaceId: ref.w,
      emailKey,
      reason: 'unsubscribed',
      scope: category === ALL ? '*' : category,
    },
  });
}

/** The categories this address was sent, plus `marketing`, plus any it turned off. */
async function knownCategories(
  engine: EngineDeps,
  ref: RecipientRef,
  contact: Contact | null,
): Promise<string[]> {
  const sent = await engine.prisma.emailMessage.findMany({
    where: { workspaceId: ref.w, contactId: contact?.id ?? ref.c },
    distinct: ['category'],
    select: { category: true },
  });
  const off = await suppressedScopes(engine, ref);
  // The workspace's own transactional categories (receipts, say) are not for turning off here:
  // no rule stops them, so a box for them would promise what does not happen.
  const { transactional } = await loadMessagingPolicy(engine.prisma, ref.w);
  return [...new Set(['marketing', ref.k, ...sent.map((s) => s.category), ...off])]
    .filter((c) => c !== '*' && !transactional.includes(c))
    .sort();
}

async function suppressedScopes(engine: EngineDeps, ref: RecipientRef): Promise<Set<string>> {
  const rows = await engine.prisma.suppression.findMany({
    where: { workspaceId: ref.w, emailKey: emailKeyOf(ref.e), reason: 'unsubscribed' },
    select: { scope: true },
  });
  return new Set(rows.map((r) => r.scope));
}
