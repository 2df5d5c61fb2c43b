import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { findContact } from '../engine/contacts/find.js';
import {
  ALL,
  changeSubscription,
  contactSubscriptions,
  type SubscriptionView,
} from '../engine/contacts/subscriptions.js';
import { authOf } from './auth/index.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { SubscriptionChangeSchema } from './schemas/contacts.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readChange = bodyValidator(SubscriptionChangeSchema);
const CATEGORY = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/;

/**
 * A contact's email subscriptions: for all marketing email and per category, subscribed,
 * unsubscribed, bounced or complained, with when and by what it changed.
 */
export function subscriptionsRouter(engine: EngineDeps): Router {
  const router = Router();

  router.get('/v1/contacts/:idOrUserId/subscriptions', async (req, res) => {
    const key = req.params.idOrUserId;
    const contact = await findContact(engine.prisma, workspaceOf(req), key);
    if (!contact) throw notFound(`Contact \`${key}\``);
    res.json({
      contactId: contact.id,
      email: contact.email,
      subscriptions: view(await contactSubscriptions(engine.prisma, contact)),
    });
  });

  router.put('/v1/contacts/:idOrUserId/subscriptions/:category', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await findContact(engine.prisma, workspaceId, key, { writable: true });
    if (!contact) throw notFound(`Contact \`${key}\``);
    const body = readChange(req.body);
    const category = req.params.category;
    if (category !== ALL && !CATEGORY.test(category))
      throw invalidInput('The category has problems.', [
        {
          pointer: '/category',
          code: 'bad-format',
          message:
            'A category is `all` or a name of letters, digits, spaces, `_`, `.` or `-` (up to 100).',
        },
      ]);
    const admin = authOf(req)?.scope === 'admin';
    const outcome = await changeSubscription(
      engine,
      contact,
      category,
      body.status,
      body.source ?? 'api',
      admin,
    );
    switch (outcome.kind) {
      case 'no-email':
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}no-email`,
          'No email address',
          'This contact has no email address, so there is no subscription to change.',
        );
      case 'transactional':
        throw invalidInput('Transactional email has no subscription.', [
          {
            pointer: '/category',
            code: 'transactional',
            message: `\`${category}\` is transactional in this workspace's messaging policy: it is sent whatever the subscriptions.`,
          },
        ]);
      case 'needs-admin':
        throw new HttpProblem(
          403,
          `${PROBLEM_BASE}forbidden`,
          'Forbidden',
          'Bounces and complaints are set by the mail-events webhook or an admin key.',
          [
            {
              pointer: '/status',
              code: 'needs-admin',
              detail:
                body.status === 'subscribed'
                  ? 'This address bounced or complained; only an admin key can clear that.'
                  : `Only an admin key can mark an address \`${body.status}\`.`,
            },
          ],
        );
      case 'address-wide':
        throw invalidInput('Bounces and complaints are about the address.', [
          {
            pointer: '/category',
            code: 'address-wide',
            message:
              body.status === 'subscribed'
                ? 'This address bounced or complained: clear that on `all` first.'
                : `An address is \`${body.status}\` for every category: set it on \`all\`.`,
          },
        ]);
      case 'changed':
        res.json({
          contactId: contact.id,
          email: contact.email,
          changed: outcome.changed,
          subscriptions: view(await contactSubscriptions(engine.prisma, contact)),
        });
        return;
    }
  });

  return router;
}

function view(subscriptions: readonly SubscriptionView[]) {
  return subscriptions.map((s) => ({
    category: s.category,
    status: s.status,
    changedAt: s.changedAt,
    source: s.source,
  }));
}
