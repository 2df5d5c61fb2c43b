import type { Contact, PrismaClient, Suppression } from '@prisma/client';
import { ADDRESS_EVENTS, emailKeyOf, loadMessagingPolicy, suppress } from '../../mail/index.js';
import type { EngineDeps } from '../deps.js';
import { exitSuppressed, recordSystemEvent, unsubscribe } from '../messaging/index.js';
import { newId } from '../../store/index.js';
import { isRecord } from '../contact-view.js';
import { changeTags } from './tags.js';

export const SUBSCRIPTION_STATUSES = [
  'subscribed',
  'unsubscribed',
  'bounced',
  'complained',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** The name of the whole of marketing email (suppression scope `*`) in the API. */
export const ALL = 'all';

/** The event a re-subscribe is recorded as (an unsubscribe is `email.unsubscribed`). */
export const SUBSCRIBED_EVENT = 'email.subscribed';

export interface SubscriptionView {
  /** `all` or a category. */
  readonly category: string;
  readonly status: SubscriptionStatus;
  /** When the status last changed; null when it never did (subscribed from the start). */
  readonly changedAt: Date | null;
  /** Who changed it: link, one-click, preferences, webhook, api, … */
  readonly source: string | null;
}

/**
 * The contact's status for all marketing email and per category. Categories are `marketing`
 * (the default), those of the `sendEmail` steps of published journeys, those the contact was
 * sent and those it turned off; transactional ones (messaging policy) are never suppressed by
 * category and are left out. Bounces and complaints are about the address: they hold for every
 * category. Unsubscribes come from the suppression list; re-subscribes from `email.subscribed`
 * events.
 */
export async function contactSubscriptions(
  prisma: PrismaClient,
  contact: Contact,
): Promise<SubscriptionView[]> {
  const rows = contact.emailKey
    ? await prisma.suppression.findMany({
        where: { workspaceId: contact.workspaceId, emailKey: contact.emailKey },
      })
    : [];
  const categories = await knownCategories(prisma, contact, rows);
  const resubscribed = await prisma.event.findMany({
    where: { contactId: contact.id, name: SUBSCRIBED_EVENT },
    orderBy: { timestamp: 'desc' },
    select: { timestamp: true, properties: true },
  });
  return [ALL, ...categories].map((category) => {
    const scopes = category === ALL ? ['*'] : ['*', category];
    const applying = rows.filter((r) => scopes.includes(r.scope));
    for (const reason of ['complained', 'bounced', 'unsubscribed'] as const) {
      const matching = applying.filter((r) => r.reason === reason);
      // The category's own row says more than the one for everything.
      const row = matching.find((r) => r.scope === category) ?? matching[0];
      if (row) return { category, status: reason, changedAt: row.createdAt, source: row.source };
    }
    const last = resubscribed.find((e) => {
      const scope = isRecord(e.properties) ? e.properties.category : undefined;
      return typeof scope === 'string' && scopes.includes(scope);
    });
    const source = last && isRecord(last.properties) ? last.properties.source : undefined;
    return {
      category,
      status: 'subscribed',
      changedAt: last?.timestamp ?? null,
      source: typeof source === 'string' ? source : null,
    };
  });
}

async function knownCategories(
  prisma: PrismaClient,
  contact: Contact,
  rows: readonly Suppression[],
): Promise<string[]> {
  const [fromJourneys, sent, policy] = await Promise.all([
    prisma.$queryRawUnsafe<{ category: string }[]>(
      `SELECT DISTINCT c #>> '{}' AS category
       FROM journey_versions v JOIN journeys j ON j.id = v.journey_id,
            jsonb_path_query(v.definition, 'lax $.** ? (@.type == "sendEmail").category') AS c
       WHERE j.workspace_id = $1 AND v.published_at IS NOT NULL AND jsonb_typeof(c) = 'string'`,
      contact.workspaceId,
    ),
    prisma.emailMessage.findMany({
      where: { contactId: contact.id },
      distinct: ['category'],
      select: { category: true },
    }),
    loadMessagingPolicy(prisma, contact.workspaceId),
  ]);
  return [
    ...new Set([
      'marketing',
      ...fromJourneys.map((r) => r.category),
      ...sent.map((s) => s.category),
      ...rows.map((r) => r.scope),
    ]),
  ]
    .filter((c) => c !== '*' && c !== ALL && !policy.transactional.includes(c))
    .sort();
}

export type SubscriptionChange =
  | { readonly kind: 'changed'; readonly changed: boolean }
  | { readonly kind: 'no-email' }
  | { readonly kind: 'transactional' }
  /** Clearing a bounce or complaint, or setting one, is for admin keys and the mail webhook. */
  | { readonly kind: 'needs-admin' }
  /** Bounces and complaints are about the address: they are set on `all`. */
  | { readonly kind: 'address-wide' };

/**
 * Changes the contact's status for `all` or one category, as the unsubscribe links do:
 * unsubscribing goes through the same flow (suppression first, `email.unsubscribed` event,
 * journeys whose suppression rule now holds are ended); re-subscribing removes the
 * unsubscribe for that scope and records an `email.subscribed` event. Re-subscribing to one
 * category after unsubscribing from everything keeps every other known category off.
 */
export async function changeSubscription(
  deps: EngineDeps,
  contact: Contact,
  category: string,
  status: SubscriptionStatus,
  source: string,
  admin: boolean,
): Promise<SubscriptionChange> {
  const { prisma } = deps;
  if (!contact.email || !contact.emailKey) return { kind: 'no-email' };
  const policy = await loadMessagingPolicy(prisma, contact.workspaceId);
  if (policy.transactional.includes(category)) return { kind: 'transactional' };
  const scope = category === ALL ? '*' : category;
  const workspaceId = contact.workspaceId;
  const emailKey = contact.emailKey;
  const address = await prisma.suppression.findMany({
    where: { workspaceId, emailKey, reason: { in: ['bounced', 'complained'] } },
  });
  switch (status) {
    case 'unsubscribed': {
      const ref = { w: workspaceId, c: contact.id, e: contact.email, k: category, m: null };
      return { kind: 'changed', changed: (await unsubscribe(deps, ref, scope, source)).changed };
    }
    case 'bounced':
    case 'complained': {
      if (!admin) return { kind: 'needs-admin' };
      if (scope !== '*') return { kind: 'address-wide' };
      const reason = status;
      const changed = await suppress(prisma, {
        workspaceId,
        email: contact.email,
        reason,
        scope: '*',
        source,
      });
      // Keyed by the suppression, the event is recorded once however often this is repeated.
      // A repeat from the same source finishes what a failure after the suppression left (the
      // event, the journeys ended); one stored by another source (the relay's report) was
      // recorded and acted on there.
      const stored = await prisma.suppression.findUnique({
        where: {
          workspaceId_emailKey_reason_scope: { workspaceId, emailKey, reason, scope: '*' },
        },
      });
      if (!changed && stored?.source !== source) return { kind: 'changed', changed };
      await recordSystemEvent(deps, {
        workspaceId,
        contactId: contact.id,
        name: ADDRESS_EVENTS[reason],
        messageId: `${reason}:${stored?.id ?? `${emailKey}:${source}`}`,
        properties: { email: contact.email, source },
      });
      await exitSuppressed(deps, workspaceId, contact.id, reason);
      return { kind: 'changed', changed };
    }
    case 'subscribed': {
      if (address.length > 0 && !admin) return { kind: 'needs-admin' };
      if (address.length > 0 && scope !== '*') return { kind: 'address-wide' };
      const others =
        scope === '*'
          ? []
          : (await contactSubscriptions(prisma, contact))
              .map((s) => s.category)
              .filter((c) => c !== ALL && c !== category);
      const { removed, everything } = await prisma.$transaction(async (tx) => {
        let count = 0;
        if (address.length > 0)
          count += (
            await tx.suppression.deleteMany({
              where: { workspaceId, emailKey, reason: { in: ['bounced', 'complained'] } },
            })
          ).count;
        const all = await tx.suppression.findFirst({
          where: { workspaceId, emailKey, reason: 'unsubscribed', scope: '*' },
        });
        if (all && scope !== '*') {
          // Off for everything, back on for one category: the others stay off, one by one.
          await tx.suppression.createMany({
            data: others.map((o) => ({
              id: newId(),
              workspaceId,
              emailKey,
              reason: 'unsubscribed',
              scope: o,
              source: all.source,
              createdAt: all.createdAt,
            })),
            skipDuplicates: true,
          });
        }
        count += (
          await tx.suppression.deleteMany({
            where: {
              workspaceId,
              emailKey,
              reason: 'unsubscribed',
              scope: { in: all ? ['*', scope] : [scope] },
            },
          })
        ).count;
        return { removed: count, everything: all !== null };
      });
      // Nothing left to lift but what an unsubscribe from everything set is still there: a
      // re-subscribe that failed after lifting the suppression, which this retry finishes.
      const unfinished = removed === 0 && scope === '*' && markedUnsubscribed(contact);
      if (removed === 0 && !unfinished) return { kind: 'changed', changed: false };
      if (scope === '*' || everything) await markSubscribed(deps, contact, source);
      await recordSystemEvent(deps, {
        workspaceId,
        contactId: contact.id,
        name: SUBSCRIBED_EVENT,
        messageId: `${SUBSCRIBED_EVENT}:${emailKeyOf(contact.email)}:${scope}:${Date.now()}`,
        properties: { email: contact.email, category: scope, source },
      });
      return { kind: 'changed', changed: true };
    }
  }
}

/**
 * Whether the contact carries `unsubscribed: true`, which only an unsubscribe from everything
 * sets (with the tag). A tag alone may be an import's or an operator's, and is left alone.
 */
function markedUnsubscribed(contact: Pick<Contact, 'attributes'>): boolean {
  return isRecord(contact.attributes) && contact.attributes.unsubscribed === true;
}

/**
 * Undoes what an unsubscribe from everything set for conditions: the `unsubscribed` tag and
 * the `unsubscribed` attribute, so suppression rules that test them no longer hold.
 */
async function markSubscribed(
  deps: EngineDeps,
  contact: Pick<Contact, 'id' | 'workspaceId'>,
  source: string,
) {
  await changeTags(
    deps,
    contact.workspaceId,
    contact.id,
    { add: [], remove: ['unsubscribed'] },
    source,
    { unsubscribed: undefined },
    // The caller records `email.subscribed` next, which journeys hear.
    { announce: false },
  );
}
