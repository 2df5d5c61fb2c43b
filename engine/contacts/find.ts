import type { Contact, PrismaClient } from '@prisma/client';

/**
 * A contact of the workspace by its id or `userId`. With `writable`, an erased contact counts
 * as gone: nothing may be written to it again (its tombstone `userId` must not come back).
 */
export async function findContact(
  prisma: PrismaClient,
  workspaceId: string,
  key: string,
  options: { readonly writable?: boolean } = {},
): Promise<Contact | null> {
  const contact = await prisma.contact.findFirst({
    where: { workspaceId, OR: [{ id: key }, { userId: key }] },
  });
  if (!contact || !options.writable) return contact;
  const erased = await prisma.erasureAudit.findUnique({
    where: { workspaceId_contactId: { workspaceId, contactId: contact.id } },
    select: { id: true },
  });
  return erased ? null : contact;
}
