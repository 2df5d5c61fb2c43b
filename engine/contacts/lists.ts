import type { Prisma } from '@prisma/client';
import { newId } from '../../store/index.js';
import { isRecord } from '../contact-view.js';
import { toJson } from '../json.js';
import { lockContact, recordChange } from './changes.js';

type Tx = Prisma.TransactionClient;

/**
 * Static lists live in `lists` and `list_memberships`; each contact also carries the keys of
 * its lists in `attributes.lists`, the copy journey conditions (`lists`) and templates read.
 * Every change goes through here, in one transaction with the copy, so the two never differ.
 */
export interface ListChange {
  /** List keys. */
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

/**
 * Adds the contact to lists and removes it from others, under a lock on the contact, and
 * records the change. With `createMissing` (journey steps name lists freely), a list named
 * for the first time is created; otherwise only existing lists are joined.
 */
export async function changeListsInTx(
  tx: Tx,
  workspaceId: string,
  contactId: string,
  change: ListChange,
  source: string,
  options: { readonly createMissing: boolean },
): Promise<{ readonly before: string[]; readonly after: string[] }> {
  await lockContact(tx, contactId);
  if (options.createMissing)
    for (const key of change.add)
      await tx.contactList.upsert({
        where: { workspaceId_key: { workspaceId, key } },
        create: { id: newId(), workspaceId, key, name: key },
        update: {},
      });
  if (change.add.length > 0)
    await tx.$executeRawUnsafe(
      `INSERT INTO list_memberships (list_id, contact_id, source, added_at)
       SELECT l.id, $2, $4, now() FROM lists l WHERE l.workspace_id = $1 AND l.key = ANY($3::text[])
       ON CONFLICT DO NOTHING`,
      workspaceId,
      contactId,
      [...change.add],
      source,
    );
  if (change.remove.length > 0)
    await tx.$executeRawUnsafe(
      `DELETE FROM list_memberships m USING lists l
       WHERE m.list_id = l.id AND m.contact_id = $2 AND l.workspace_id = $1 AND l.key = ANY($3::text[])`,
      workspaceId,
      contactId,
      [...change.remove],
    );
  return mirrorLists(tx, workspaceId, contactId, source);
}

/**
 * Writes the keys of the contact's lists into `attributes.lists` and records the change when
 * they moved. The contact must be locked by the caller's transaction.
 */
export async function mirrorLists(
  tx: Tx,
  workspaceId: string,
  contactId: string,
  source: string,
): Promise<{ readonly before: string[]; readonly after: string[] }> {
  const contact = await tx.contact.findUnique({
    where: { id: contactId },
    select: { attributes: true },
  });
  const attributes = isRecord(contact?.attributes) ? contact.attributes : {};
  const before = Array.isArray(attributes.lists)
    ? attributes.lists.filter((l): l is string => typeof l === 'string')
    : [];
  const rows = await tx.listMembership.findMany({
    where: { contactId },
    orderBy: [{ addedAt: 'asc' }, { list: { key: 'asc' } }],
    select: { list: { select: { key: true } } },
  });
  const after = rows.map((r) => r.list.key);
  // The same lists in another order is no change.
  const same = before.length === after.length && after.every((k) => before.includes(k));
  if (
    !same &&
    (await recordChange(tx, { workspaceId, contactId, attribute: 'lists', before, after, source }))
  )
    await tx.contact.update({
      where: { id: contactId },
      data: { attributes: toJson({ ...attributes, lists: after }) },
    });
  return { before, after };
}

/**
 * Deletes a list: its members lose it from their copy, each with a recorded change, in the
 * same transaction as the delete.
 */
export async function deleteListInTx(
  tx: Tx,
  workspaceId: string,
  listId: string,
  source: string,
): Promise<number> {
  const members = await tx.listMembership.findMany({
    where: { listId },
    select: { contactId: true },
    orderBy: { contactId: 'asc' },
  });
  await tx.listMembership.deleteMany({ where: { listId } });
  for (const { contactId } of members) {
    await lockContact(tx, contactId);
    await mirrorLists(tx, workspaceId, contactId, source);
  }
  await tx.contactList.delete({ where: { id: listId } });
  return members.length;
}
