import type { PrismaClient } from '@prisma/client';
import { isRecord } from '../contact-view.js';
import { stillActive } from '../tasks/assign.js';
import { lockContact, recordChange } from './changes.js';

export type OwnerOutcome =
  | { readonly kind: 'set'; readonly ownerId: string | null; readonly changed: boolean }
  | { readonly kind: 'unknown-user' }
  | { readonly kind: 'contact-not-found' };

/**
 * Makes a user of the same workspace the contact's owner (null: nobody), recording the change.
 * The owner is the `owner_id` column, which the tasks' "contact owner" strategy reads first.
 */
export async function setOwner(
  prisma: PrismaClient,
  workspaceId: string,
  contactId: string,
  ownerId: string | null,
  source: string,
): Promise<OwnerOutcome> {
  return prisma.$transaction(async (tx) => {
    // Held before the contact, as a removal takes them: a removal waits, then hands this over.
    if (ownerId !== null && !(await stillActive(tx, workspaceId, ownerId)))
      return { kind: 'unknown-user' } as const;
    await lockContact(tx, contactId);
    const contact = await tx.contact.findFirst({
      where: { id: contactId, workspaceId },
      select: { ownerId: true },
    });
    if (!contact) return { kind: 'contact-not-found' } as const;
    // The column is the owner from now on: an `ownerId` attribute from before it existed
    // (which `ownerIdOf` falls back to, and no write may set any more) goes.
    await tx.$executeRaw`UPDATE contacts SET owner_id = ${ownerId}, attributes = attributes - 'ownerId', updated_at = now() WHERE id = ${contactId}`;
    const changed = await recordChange(tx, {
      workspaceId,
      contactId,
      attribute: 'ownerId',
      before: contact.ownerId,
      after: ownerId,
      source,
    });
    return { kind: 'set', ownerId, changed } as const;
  });
}

/**
 * The contact's owner as the API shows it in `ownerId`, in the list and in the detail alike:
 * the `owner_id` column, else an `ownerId` attribute (a user id) set before the column existed.
 */
export function ownerIdOf(contact: OwnedContact): string | null {
  if (contact.ownerId) return contact.ownerId;
  return textOf(isRecord(contact.attributes) ? contact.attributes.ownerId : undefined);
}

/**
 * Who owns a contact, for the tasks' "contact owner" strategy: `ownerIdOf`, else an `owner`
 * attribute (a user id or email) set before the column existed.
 */
export function ownerRefOf(contact: OwnedContact): string | null {
  return (
    ownerIdOf(contact) ??
    textOf(isRecord(contact.attributes) ? contact.attributes.owner : undefined)
  );
}

interface OwnedContact {
  readonly ownerId: string | null;
  readonly attributes: unknown;
}

function textOf(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
