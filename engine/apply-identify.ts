import type { Prisma, PrismaClient } from '@prisma/client';
import { isRecord } from './contact-view.js';
import type { IncomingMessage } from './ingest.js';
import { lockContact } from './contacts/changes.js';
import { tombstoneOf } from './contacts/erase.js';
import { mergeContacts } from './merge-contacts.js';
import type { ActiveScoringPlan } from './scoring-plans.js';

/**
 * Why an identify's traits were not (all) applied; the message itself is still stored.
 * `email-taken`: another identified contact holds the email. `contact-erased`: the contact was
 * erased after this message found it; nothing is written back onto it, and the stored event
 * keeps no traits.
 */
export type IdentifyWarning = 'email-taken' | 'contact-erased';

/**
 * Applies an identify's traits to its contact: attributes merge (new values win), time zone
 * and locale, and the email, deduplicated case- and whitespace-insensitively. A contact that
 * has the same email or the message's `anonymousId` but no `userId` of its own is the same
 * person seen earlier and is merged in; an email held by another identified contact is left
 * there and reported.
 */
export async function applyIdentify(
  prisma: PrismaClient,
  active: readonly ActiveScoringPlan[],
  workspaceId: string,
  contactId: string,
  message: IncomingMessage,
): Promise<IdentifyWarning | null> {
  return prisma.$transaction(
    async (tx) => {
      // Under the contact's lock, so an erasure that committed first is seen (and one that
      // comes later waits for this write, then clears it).
      await lockContact(tx, contactId);
      const locked = await tx.contact.findUnique({
        where: { id: contactId },
        select: { userId: true },
      });
      if (locked?.userId === tombstoneOf(contactId)) return 'contact-erased';
      let warning: IdentifyWarning | null = null;
      const email = typeof message.traits.email === 'string' ? message.traits.email.trim() : '';
      const emailKey = email === '' ? null : email.toLowerCase();
      if (emailKey) {
        const holder = await tx.contact.findFirst({ where: { workspaceId, emailKey } });
        if (holder && holder.id !== contactId) {
          if (holder.userId === null) await mergeContacts(tx, active, holder.id, contactId);
          else warning = 'email-taken';
        }
      }
      if (message.anonymousId) {
        const others = await tx.$queryRawUnsafe<{ id: string }[]>(
          `SELECT id FROM contacts WHERE workspace_id = $1 AND anonymous_ids @> ARRAY[$2]::text[] AND id <> $3 AND user_id IS NULL`,
          workspaceId,
          message.anonymousId,
          contactId,
        );
        for (const other of others) await mergeContacts(tx, active, other.id, contactId);
      }
      const contact = await tx.contact.findUniqueOrThrow({ where: { id: contactId } });
      const { email: _email, ...traits } = message.traits;
      const attributes = { ...(isRecord(contact.attributes) ? contact.attributes : {}), ...traits };
      await tx.contact.update({
        where: { id: contactId },
        data: {
          attributes: JSON.parse(JSON.stringify(attributes)) as Prisma.InputJsonObject,
          ...(emailKey && warning === null ? { email, emailKey } : {}),
          anonymousIds:
            message.anonymousId && !contact.anonymousIds.includes(message.anonymousId)
              ? [...contact.anonymousIds, message.anonymousId]
              : contact.anonymousIds,
          timezone: stringTrait(message.traits, 'timezone') ?? contact.timezone,
          locale: stringTrait(message.traits, 'locale') ?? contact.locale,
        },
      });
      return warning;
    },
    { maxWait: 30_000, timeout: 30_000 },
  );
}

function stringTrait(traits: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = traits[key];
  return typeof value === 'string' && value !== '' ? value : null;
}
