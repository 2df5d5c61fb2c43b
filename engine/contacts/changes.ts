import type { Prisma } from '@prisma/client';
import { newId } from '../../store/index.js';

export type ChangeValue = string | readonly string[] | null;

/** A field of a contact changed outside an identify, as the timeline shows it. */
export interface AttributeChangeEntry {
  readonly workspaceId: string;
  readonly contactId: string;
  /** `tags`, `ownerId`, `lists`, … */
  readonly attribute: string;
  readonly before: ChangeValue;
  readonly after: ChangeValue;
  /** Who made it: `api`, `journey step …`. */
  readonly source: string;
}

/**
 * Records a change in the caller's transaction, so the change and its record commit together.
 * Nothing is recorded when the value did not move.
 */
export async function recordChange(
  tx: Prisma.TransactionClient,
  change: AttributeChangeEntry,
): Promise<boolean> {
  if (JSON.stringify(change.before) === JSON.stringify(change.after)) return false;
  await tx.attributeChange.create({
    data: {
      id: newId(),
      workspaceId: change.workspaceId,
      contactId: change.contactId,
      attribute: change.attribute,
      ...(change.before === null ? {} : { before: change.before }),
      ...(change.after === null ? {} : { after: change.after }),
      source: change.source,
    },
  });
  return true;
}

/** Locks the contact's row until the transaction ends, so two changes of it queue up. */
export async function lockContact(tx: Prisma.TransactionClient, contactId: string): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE`, contactId);
}
