import type { PrismaClient } from '@prisma/client';
import { isRecord } from '../contact-view.js';
import { toJson } from '../json.js';
import { lockContact, recordChange } from './changes.js';

export type TagsOutcome =
  | { readonly kind: 'changed'; readonly tags: readonly string[]; readonly changed: boolean }
  | { readonly kind: 'contact-not-found' };

/**
 * Adds and removes tags under a lock on the contact, so concurrent changes all land, and
 * records the change for the timeline. Tags stay in `attributes.tags`, where conditions
 * (`tags`), scoring and templates read them.
 */
export async function changeTags(
  prisma: PrismaClient,
  workspaceId: string,
  contactId: string,
  change: { readonly add: readonly string[]; readonly remove: readonly string[] },
  source: string,
): Promise<TagsOutcome> {
  return prisma.$transaction(async (tx) => {
    await lockContact(tx, contactId);
    const contact = await tx.contact.findFirst({ where: { id: contactId, workspaceId } });
    if (!contact) return { kind: 'contact-not-found' } as const;
    const attributes = isRecord(contact.attributes) ? { ...contact.attributes } : {};
    const before = tagsOf(attributes.tags);
    const after = [
      ...new Set([...before.filter((t) => !change.remove.includes(t)), ...change.add]),
    ];
    const changed = await recordChange(tx, {
      workspaceId,
      contactId,
      attribute: 'tags',
      before,
      after,
      source,
    });
    if (changed)
      await tx.contact.update({
        where: { id: contactId },
        data: { attributes: toJson({ ...attributes, tags: after }) },
      });
    return { kind: 'changed', tags: after, changed } as const;
  });
}

export function tagsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}
