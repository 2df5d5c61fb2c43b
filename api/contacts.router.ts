import { Router } from 'express';
import type { Prisma } from '@prisma/client';
import { contactView, settleScores, type EngineDeps } from '../engine/index.js';
import { encodeTimelineCursor } from '../engine/contacts/timeline.js';
import { contactTimeline } from '../engine/contacts/timeline.js';
import { eraseContact } from '../engine/contacts/erase.js';
import { ownerIdOf } from '../engine/contacts/owner.js';
import { contactBody } from './contact-body.js';
import { pageOf, pageResult, timePageOf } from './paging.js';
import { invalidInput, notFound } from './problem.js';
import { workspaceOf } from './workspace.js';

/** Contacts by id or by `userId`, with their enrollments. */
export function contactsRouter(engine: EngineDeps): Router {
  const router = Router();

  /** Contacts of the workspace, paged by id; `?tag=`, `?ownerId=`, `?list=` filter (erased ones are left out). */
  router.get('/v1/contacts', async (req, res) => {
    const page = pageOf(req);
    const where: Prisma.ContactWhereInput[] = [
      { workspaceId: workspaceOf(req) },
      { OR: [{ userId: null }, { NOT: { userId: { startsWith: 'erased:' } } }] },
    ];
    const { tag, ownerId, list } = filtersOf(req.query);
    if (tag !== undefined) where.push({ attributes: { path: ['tags'], array_contains: [tag] } });
    // The owner as `ownerIdOf` shows it: the column, else an `ownerId` attribute.
    if (ownerId !== undefined)
      where.push({
        OR: [{ ownerId }, { ownerId: null, attributes: { path: ['ownerId'], equals: ownerId } }],
      });
    if (list !== undefined)
      where.push({ lists: { some: { list: { OR: [{ id: list }, { key: list }] } } } });
    if (page.after) where.push({ id: { gt: page.after } });
    const rows = await engine.prisma.contact.findMany({
      where: { AND: where },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    res.json(
      pageResult(rows, page, (c) => ({
        ...contactView(c),
        ownerId: ownerIdOf(c),
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      })),
    );
  });

  router.get('/v1/contacts/:idOrUserId', async (req, res) => {
    res.json(await contactBody(engine.prisma, workspaceOf(req), req.params.idOrUserId));
  });

  router.get('/v1/contacts/:idOrUserId/timeline', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const { limit, cursor } = timePageOf(req.query.limit, req.query.cursor);
    const contact = await engine.prisma.contact.findFirst({
      where: { workspaceId, OR: [{ id: key }, { userId: key }] },
      select: { id: true },
    });
    if (!contact) throw notFound(`Contact \`${key}\``);
    await settleScores(engine); // the points of events just sent in a batch show with them
    const page = await contactTimeline(engine.prisma, contact.id, limit, cursor);
    res.json({
      data: page.data,
      nextCursor: page.nextCursor ? encodeTimelineCursor(page.nextCursor) : null,
    });
  });

  router.delete('/v1/contacts/:idOrUserId', async (req, res) => {
    const key = req.params.idOrUserId;
    const outcome = await eraseContact(engine, workspaceOf(req), key);
    if (outcome.kind === 'not-found') throw notFound(`Contact \`${key}\``);
    res.json({ erased: true, contactId: outcome.contactId, counts: outcome.counts });
  });

  return router;
}

/** `?tag=`, `?ownerId=` and `?list=` (id or key): each, when given, a non-empty text. */
function filtersOf(query: Record<string, unknown>): {
  tag?: string;
  ownerId?: string;
  list?: string;
} {
  const problems: { pointer: string; code: string; message: string }[] = [];
  const read = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '' && value.length <= 200) return value;
    problems.push({
      pointer: `/${name}`,
      code: 'bad-value',
      message: `\`${name}\` must be one non-empty text of up to 200 characters.`,
    });
    return undefined;
  };
  const filters = { tag: read('tag'), ownerId: read('ownerId'), list: read('list') };
  if (problems.length > 0) throw invalidInput('The filters have problems.', problems);
  return {
    ...(filters.tag === undefined ? {} : { tag: filters.tag }),
    ...(filters.ownerId === undefined ? {} : { ownerId: filters.ownerId }),
    ...(filters.list === undefined ? {} : { list: filters.list }),
  };
}
