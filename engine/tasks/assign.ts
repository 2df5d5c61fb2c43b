import type { Prisma } from '@prisma/client';
import { assertNever, type TaskAssignee } from '../../core/index.js';

type Tx = Prisma.TransactionClient;

/**
 * Picks who gets a task. Round-robin advances the team's cursor with one atomic UPDATE, so
 * concurrent assignments still spread evenly (6 leads over 3 reps: 2 each). Least-loaded
 * counts open tasks under a per-team lock held until the task row is written by the caller's
 * transaction. The contact's owner falls back to the team when the contact has none.
 * Returns null when nobody fits (an empty team, an unknown user): the task stays unassigned.
 */
export async function chooseAssignee(
  tx: Tx,
  workspaceId: string,
  assignee: TaskAssignee,
  ownerRef: string | null,
): Promise<string | null> {
  switch (assignee.type) {
    case 'user':
      return assignableUser(tx, workspaceId, assignee.user);
    case 'owner': {
      const owner = ownerRef ? await assignableUser(tx, workspaceId, ownerRef) : null;
      if (owner || !assignee.fallbackTeam) return owner;
      return roundRobin(tx, workspaceId, assignee.fallbackTeam);
    }
    case 'roundRobin':
      return roundRobin(tx, workspaceId, assignee.team);
    case 'leastLoaded':
      return leastLoaded(tx, workspaceId, assignee.team);
    default:
      return assertNever(assignee, 'assignee');
  }
}

/** A user or team an assignee names, by its field (`/assignee/<field>`). */
export interface MissingAssignee {
  readonly field: 'user' | 'team' | 'fallbackTeam';
  readonly kind: 'user' | 'team';
  readonly ref: string;
}

/**
 * The user or team an assignee names that this workspace lacks, resolved as assignment
 * resolves it; null when all exist. A task created by hand is refused with it, where a
 * journey's task (checked when the journey is published) stays unassigned instead.
 */
export async function missingAssignee(
  tx: Tx,
  workspaceId: string,
  assignee: TaskAssignee,
): Promise<MissingAssignee | null> {
  switch (assignee.type) {
    case 'user':
      return (await findUser(tx, workspaceId, assignee.user))
        ? null
        : { field: 'user', kind: 'user', ref: assignee.user };
    case 'owner':
      return assignee.fallbackTeam && !(await teamId(tx, workspaceId, assignee.fallbackTeam))
        ? { field: 'fallbackTeam', kind: 'team', ref: assignee.fallbackTeam }
        : null;
    case 'roundRobin':
    case 'leastLoaded':
      return (await teamId(tx, workspaceId, assignee.team))
        ? null
        : { field: 'team', kind: 'team', ref: assignee.team };
    default:
      return assertNever(assignee, 'assignee');
  }
}

/**
 * An active user by id or email. Writes through the API (owners, assignees, team members, who
 * completed a task) may name only these; a removed user is no user for them.
 */
export async function findUser(tx: Tx, workspaceId: string, ref: string): Promise<string | null> {
  const user = await userByRef(tx, workspaceId, ref);
  return user && !user.removedAt ? user.id : null;
}

/** Any user by id or email, removed ones too. */
export function userByRef(
  tx: Tx,
  workspaceId: string,
  ref: string,
): Promise<{ id: string; removedAt: Date | null; replacedById: string | null } | null> {
  return tx.user.findFirst({
    where: { workspaceId, OR: [{ id: ref }, { email: ref.trim().toLowerCase() }] },
    select: { id: true, removedAt: true, replacedById: true },
  });
}

/** Removals followed at most, should replacements ever form a loop. */
const MAX_HANDOVERS = 10;

/**
 * Who gets a journey's task that names `ref` (or a contact owned by it): an active user, or
 * whoever took over from a removed one, through later removals too. Null when nobody did.
 */
export async function assignableUser(
  tx: Tx,
  workspaceId: string,
  ref: string,
): Promise<string | null> {
  let user = await userByRef(tx, workspaceId, ref);
  for (let hop = 0; user?.removedAt && hop < MAX_HANDOVERS; hop++)
    user = user.replacedById ? await userByRef(tx, workspaceId, user.replacedById) : null;
  return user && !user.removedAt ? stillActive(tx, workspaceId, user.id) : null;
}

/**
 * Holds the users (ids) as `stillActive` does, in id order as a removal takes each; returns
 * those that are no active user of the workspace (removed meanwhile, or never of it).
 */
export async function holdActiveUsers(
  tx: Tx,
  workspaceId: string,
  userIds: readonly string[],
): Promise<string[]> {
  const ids = [...new Set(userIds)].sort();
  if (ids.length === 0) return [];
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM users
    WHERE id = ANY(${ids}::text[]) AND workspace_id = ${workspaceId} AND removed_at IS NULL
    ORDER BY id FOR SHARE`;
  const active = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !active.has(id));
}

/**
 * The user's id if they are an active user of the workspace, held so until the caller's
 * transaction ends: a removal (which hands over what the user has) waits for it, so nothing
 * reaches them after it.
 */
export async function stillActive(
  tx: Tx,
  workspaceId: string,
  userId: string,
): Promise<string | null> {
  return (await holdActiveUsers(tx, workspaceId, [userId])).length === 0 ? userId : null;
}

/**
 * Which team and user references a journey may name in this workspace, resolved exactly as
 * assignment resolves them: a team by key or id, a user by id or (trimmed, lower-case) email.
 * Publishing checks `createTask` assignees against it.
 */
export async function assigneeDirectory(
  prisma: Tx,
  workspaceId: string,
): Promise<{ teamExists: (ref: string) => boolean; userExists: (ref: string) => boolean }> {
  const teams = await prisma.team.findMany({
    where: { workspaceId },
    select: { id: true, key: true },
  });
  // A removed user is no assignee for a new version; one already running hands over.
  const users = await prisma.user.findMany({
    where: { workspaceId, removedAt: null },
    select: { id: true, email: true },
  });
  const teamRefs = new Set(teams.flatMap((t) => [t.key, t.id]));
  const userIds = new Set(users.map((u) => u.id));
  const emails = new Set(users.map((u) => u.email));
  return {
    teamExists: (ref) => teamRefs.has(ref),
    userExists: (ref) => userIds.has(ref) || emails.has(ref.trim().toLowerCase()),
  };
}

async function members(tx: Tx, teamId: string): Promise<string[]> {
  const rows = await tx.teamMember.findMany({
    where: { teamId, user: { removedAt: null } },
    orderBy: [{ position: 'asc' }, { userId: 'asc' }],
    select: { userId: true },
  });
  return rows.map((r) => r.userId);
}

/** A team by key or id. */
export async function teamId(tx: Tx, workspaceId: string, key: string): Promise<string | null> {
  const team = await tx.team.findFirst({
    where: { workspaceId, OR: [{ key }, { id: key }] },
    select: { id: true },
  });
  return team?.id ?? null;
}

async function roundRobin(tx: Tx, workspaceId: string, key: string): Promise<string | null> {
  const id = await teamId(tx, workspaceId, key);
  if (!id) return null;
  const team = await tx.team.update({
    where: { id },
    data: { cursor: { increment: 1 } },
    select: { cursor: true },
  });
  const list = await members(tx, id);
  if (list.length === 0) return null;
  return list[(team.cursor - 1) % list.length] ?? null;
}

async function leastLoaded(tx: Tx, workspaceId: string, key: string): Promise<string | null> {
  const id = await teamId(tx, workspaceId, key);
  if (!id) return null;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`team:${id}`}))`;
  const list = await members(tx, id);
  if (list.length === 0) return null;
  const open = await tx.task.groupBy({
    by: ['assigneeId'],
    where: { workspaceId, status: 'open', assigneeId: { in: list } },
    _count: { _all: true },
  });
  const load = new Map(open.map((o) => [o.assigneeId, o._count._all]));
  let best: string | null = null;
  for (const user of list) {
    if (best === null || (load.get(user) ?? 0) < (load.get(best) ?? 0)) best = user;
  }
  return best;
}
