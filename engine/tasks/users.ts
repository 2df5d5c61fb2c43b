import type { PrismaClient } from '@prisma/client';
import { newId } from '../../store/index.js';

export type RemovalOutcome =
  | ({ readonly kind: 'removed' } & UserRemoval)
  /** Removed before, with another (or no) replacement: nothing changes. */
  | { readonly kind: 'removed-already'; readonly replacedById: string | null }
  /** The replacement was removed meanwhile. */
  | { readonly kind: 'replacement-inactive' };

export interface UserRemoval {
  /** False when the user had been removed already (nothing moved this time). */
  readonly removed: boolean;
  readonly replacedById: string | null;
  /** Open tasks handed to the replacement (or left unassigned without one). */
  readonly openTasks: number;
  /** Contacts handed to the replacement (or left without an owner), each change recorded. */
  readonly contacts: number;
  /** Teams the user was a member of and left. */
  readonly teams: number;
  /** Teams the user led, which have no lead now. */
  readonly teamsLed: number;
}

/**
 * Removes a user who left: nothing of their history is deleted (tasks they completed still name
 * them), but in one transaction their open tasks and their contacts go to `replacementId` (or to
 * nobody), each contact's owner change recorded on its timeline; they leave their teams, so
 * round-robin and least-loaded assignment skip them; and journeys already running that name
 * them assign to the replacement from now on (`assignableUser`). Removing a removed user moves
 * nothing (asking for another replacement then is `removed-already`). `replacementId` must be
 * an active user other than this one.
 */
export async function removeUser(
  prisma: PrismaClient,
  workspaceId: string,
  userId: string,
  replacementId: string | null,
): Promise<RemovalOutcome> {
  return prisma.$transaction(async (tx) => {
    // Both rows at once, in id order: two removals naming each other queue instead of deadlocking.
    const rows = await tx.$queryRaw<
      { id: string; removed_at: Date | null; replaced_by_id: string | null }[]
    >`
      SELECT id, removed_at, replaced_by_id FROM users
      WHERE workspace_id = ${workspaceId} AND id = ANY(${[userId, replacementId ?? userId]}::text[])
      ORDER BY id FOR UPDATE`;
    const user = rows.find((r) => r.id === userId);
    if (!user) throw new Error(`user ${userId} is not in workspace ${workspaceId}`);
    if (user.removed_at)
      return replacementId === null || replacementId === user.replaced_by_id
        ? {
            kind: 'removed',
            removed: false,
            replacedById: user.replaced_by_id,
            openTasks: 0,
            contacts: 0,
            teams: 0,
            teamsLed: 0,
          }
        : { kind: 'removed-already', replacedById: user.replaced_by_id };
    const replacement = rows.find((r) => r.id === replacementId);
    if (replacementId !== null && (!replacement || replacement.removed_at))
      return { kind: 'replacement-inactive' };
    await tx.$executeRaw`
      UPDATE users SET removed_at = now(), replaced_by_id = ${replacementId} WHERE id = ${userId}`;
    const openTasks = await tx.$executeRaw`
      UPDATE tasks SET assignee_id = ${replacementId}, updated_at = now()
      WHERE workspace_id = ${workspaceId} AND assignee_id = ${userId} AND status = 'open'`;
    // Owned through the column, or through an `ownerId` attribute from before it (which
    // `ownerIdOf` still reads): both move, and the attribute goes, as `setOwner` does.
    const owned = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM contacts
      WHERE workspace_id = ${workspaceId}
        AND (owner_id = ${userId} OR (owner_id IS NULL AND attributes->>'ownerId' = ${userId}))
      ORDER BY id
      FOR UPDATE`;
    const ids = owned.map((c) => c.id);
    if (ids.length > 0) {
      await tx.$executeRaw`
        UPDATE contacts SET owner_id = ${replacementId}, attributes = attributes - 'ownerId',
          updated_at = now()
        WHERE id = ANY(${ids}::text[])`;
      await tx.$executeRaw`
        INSERT INTO attribute_changes (id, workspace_id, contact_id, attribute, before, after, source)
        SELECT change_id, ${workspaceId}, contact_id, 'ownerId', to_jsonb(${userId}::text),
          to_jsonb(${replacementId}::text), 'user removed'
        FROM unnest(${ids.map(() => newId())}::text[], ${ids}::text[]) AS c(change_id, contact_id)`;
    }
    const teams = await tx.$executeRaw`DELETE FROM team_members WHERE user_id = ${userId}`;
    const teamsLed = await tx.$executeRaw`
      UPDATE teams SET lead_user_id = NULL
      WHERE workspace_id = ${workspaceId} AND lead_user_id = ${userId}`;
    return {
      kind: 'removed',
      removed: true,
      replacedById: replacementId,
      openTasks,
      contacts: ids.length,
      teams,
      teamsLed,
    };
  });
}
