import type { Prisma } from '@prisma/client';
import { newId } from '../../store/index.js';
import { isRecord } from '../contact-view.js';
import { toJson } from '../json.js';
import type { JourneyInterest } from '../journeys.js';
import { storeChangeEvent } from './change-event.js';
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

/** The contact's lists before and after; `event`: the `$contact_changed` event to route, if any. */
export interface ListsChanged {
  readonly before: string[];
  readonly after: string[];
  readonly event: string | null;
}

export interface ListChangeOptions {
  /** Journey steps name lists freely: a list named for the first time is created. */
  readonly createMissing: boolean;
  /** The enrollment whose step makes the change (it is not told of it). */
  readonly enrollmentId?: string;
  /** The workspace's journeys' interest, which decides whether the change is routed. */
  readonly interest: JourneyInterest | null;
}

/**
 * Adds the contact to lists and removes it from others, under a lock on the contact, and
 * records the change. With `createMissing` (journey steps name lists freely), a list named
 * for the first time is created; otherwise only existing lists are joined. A change stores a
 * `$contact_changed` event (engine/contacts/change-event.ts), which the caller routes once the
 * transaction has committed.
 */
export async function changeListsInTx(
  tx: Tx,
  workspaceId: string,
  contactId: string,
  change: ListChange,
  source: string,
  options: ListChangeOptions,
): Promise<ListsChanged> {
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
  return changedLists(tx, workspaceId, contactId, source, options);
}

/** `mirrorLists`, plus the event that tells journeys when the lists moved. */
async function changedLists(
  tx: Tx,
  workspaceId: string,
  contactId: string,
  source: string,
  { enrollmentId, interest }: Pick<ListChangeOptions, 'enrollmentId' | 'interest'>,
): Promise<ListsChanged> {
  const { before, after, changed } = await mirrorLists(tx, workspaceId, contactId, source);
  const event = changed
    ? await storeChangeEvent(
        tx,
        {
          workspaceId,
          contactId,
          attributes: ['lists'],
          source,
          ...(enrollmentId ? { enrollmentId } : {}),
        },
        interest,
      )
    : null;
  return { before, after, event };
}

/**
 * Writes the keys of the contact's lists into `attributes.lists` and records the change when
 * they moved (`changed`). The contact must be locked by the caller's transaction.
 */
export async function mirrorLists(
  tx: Tx,
  workspaceId: string,
  contactId: string,
  source: string,
): Promise<{ readonly before: string[]; readonly after: string[]; readonly changed: boolean }> {
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
  const changed =
    !same &&
    (await recordChange(tx, { workspaceId, contactId, attribute: 'lists', before, after, source }));
  if (changed)
    await tx.contact.update({
      where: { id: contactId },
      data: { attributes: toJson({ ...attributes, lists: after }) },
    });
  return { before, after, changed };
}

/**
 * Deletes a list: its members lose it from their copy, each with a recorded change, in the
 * same transaction as the delete. Returns the members and the `$contact_changed` events to route.
 */
export async function deleteListInTx(
  tx: Tx,
  workspaceId: string,
  listId: string,
  source: string,
  interest: JourneyInterest | null,
): Promise<{ readonly members: number; readonly events: string[] }> {
  const members = await tx.listMembership.findMany({
    where: { listId },
    select: { contactId: true },
    orderBy: { contactId: 'asc' },
  });
  await tx.listMembership.deleteMany({ where: { listId } });
  const events: string[] = [];
  for (const { contactId } of members) {
    await lockContact(tx, contactId);
    const { event } = await changedLists(tx, workspaceId, contactId, source, { interest });
    if (event) events.push(event);
  }
  await tx.contactList.delete({ where: { id: listId } });
  return { members: members.length, events };
}
