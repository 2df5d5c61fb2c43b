import type { ContactList, PrismaClient } from '@prisma/client';
import { Router } from 'express';
import {
  journeyInterest,
  routeChanges,
  routeInBackground,
  type EngineDeps,
} from '../engine/index.js';
import { changeListsInTx, deleteListInTx } from '../engine/contacts/lists.js';
import { isUniqueViolation, newId, retryOnDeadlock } from '../store/index.js';
import { pageOf, pageResult } from './paging.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { CreateListSchema, ListMembersSchema } from './schemas/contacts.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readList = bodyValidator(CreateListSchema);
/** Change events of a deleted list's members routed together (as a `batch` request's are). */
const ROUTE_CHUNK = 500;
const readMembers = bodyValidator(ListMembersSchema);

/**
 * Static lists and their members. A list is named in paths by its id or its key; members are
 * added by contact id, user id or email. Every membership change is on the contact's timeline
 * and in `attributes.lists`, which journey conditions (`lists`) read.
 */
export function listsRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.post('/v1/lists', async (req, res) => {
    const body = readList(req.body);
    const workspaceId = workspaceOf(req);
    try {
      const list = await prisma.contactList.create({
        data: { id: newId(), workspaceId, key: body.key, name: body.name ?? body.key },
      });
      res.status(201).json(view(list, 0));
    } catch (error) {
      if (isUniqueViolation(error))
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}conflict`,
          'Already exists',
          `A list with the key ${body.key} already exists.`,
          [{ pointer: '/key', code: 'duplicate', detail: 'Another list has this key.' }],
        );
      throw error;
    }
  });

  router.get('/v1/lists', async (req, res) => {
    const page = pageOf(req);
    const rows = await prisma.contactList.findMany({
      where: { workspaceId: workspaceOf(req), ...(page.after ? { id: { gt: page.after } } : {}) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
      include: { _count: { select: { members: true } } },
    });
    res.json(pageResult(rows, page, (l) => view(l, l._count.members)));
  });

  router.get('/v1/lists/:list', async (req, res) => {
    const list = await findList(prisma, workspaceOf(req), req.params.list);
    const members = await prisma.listMembership.count({ where: { listId: list.id } });
    res.json(view(list, members));
  });

  /** Deletes the list; its members lose it (and see the change on their timeline). */
  router.delete('/v1/lists/:list', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const list = await findList(prisma, workspaceId, req.params.list);
    const interest = await journeyInterest(engine, workspaceId);
    const { members, events } = await prisma.$transaction(
      (tx) => deleteListInTx(tx, workspaceId, list.id, 'api', interest),
      { maxWait: 30_000, timeout: 120_000 },
    );
    res.json({ deleted: true, id: list.id, key: list.key, members });
    // The members' journeys hear of it after the answer (a list may have thousands), a batch's
    // worth at a time.
    for (let i = 0; i < events.length; i += ROUTE_CHUNK)
      void routeInBackground(engine, events.slice(i, i + ROUTE_CHUNK));
  });

  router.get('/v1/lists/:list/members', async (req, res) => {
    const list = await findList(prisma, workspaceOf(req), req.params.list);
    const page = pageOf(req);
    const rows = await prisma.listMembership.findMany({
      where: { listId: list.id, ...(page.after ? { contactId: { gt: page.after } } : {}) },
      orderBy: { contactId: 'asc' },
      take: page.limit + 1,
      include: { contact: { select: { userId: true, email: true } } },
    });
    res.json(
      pageResult(
        rows.map((m) => ({ ...m, id: m.contactId })),
        page,
        (m) => ({
          contactId: m.contactId,
          userId: m.contact.userId,
          email: m.contact.email,
          addedAt: m.addedAt,
          source: m.source,
        }),
      ),
    );
  });

  /** Adds contacts; if any of them is unknown nothing is added and each is named. */
  router.post('/v1/lists/:list/members', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const list = await findList(prisma, workspaceId, req.params.list);
    const { contacts } = readMembers(req.body);
    const resolved = await resolveContacts(prisma, workspaceId, contacts);
    const unknown = contacts.flatMap((ref, i) => (resolved[i] ? [] : [i]));
    if (unknown.length > 0)
      throw invalidInput('Some contacts do not exist; nobody was added.', [
        ...unknown.map((i) => ({
          pointer: `/contacts/${i}`,
          code: 'unknown-contact',
          message: `No contact has the id, user id or email \`${contacts[i] ?? ''}\`.`,
        })),
      ]);
    // All or nobody, in one transaction: a failure part-way adds none. Contacts are locked in
    // id order, as deleting a list locks its members; a deadlock with another writer that
    // locks contacts in another order is tried again.
    const ids = [...new Set(resolved.filter((id): id is string => id !== null))].sort();
    const interest = await journeyInterest(engine, workspaceId);
    const { added, events } = await retryOnDeadlock(() =>
      prisma.$transaction(
        async (tx) => {
          const stored: string[] = [];
          let count = 0;
          for (const contactId of ids) {
            const { before, after, event } = await changeListsInTx(
              tx,
              workspaceId,
              contactId,
              { add: [list.key], remove: [] },
              'api',
              { createMissing: false, interest },
            );
            if (after.includes(list.key) && !before.includes(list.key)) count += 1;
            if (event) stored.push(event);
          }
          return { added: count, events: stored };
        },
        { maxWait: 30_000, timeout: 120_000 },
      ),
    );
    // Up to 500 contacts, routed as one batch before the answer (so the journeys they start
    // are there when it comes); a routing failure is logged and left to the routing sweep.
    await routeChanges(engine, events);
    res.json({ listId: list.id, key: list.key, added, alreadyMembers: ids.length - added });
  });

  router.delete('/v1/lists/:list/members/:contact', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const list = await findList(prisma, workspaceId, req.params.list);
    const [contactId] = await resolveContacts(prisma, workspaceId, [req.params.contact]);
    if (!contactId) throw notFound(`Contact \`${req.params.contact}\``);
    const interest = await journeyInterest(engine, workspaceId);
    const { before, after, event } = await prisma.$transaction((tx) =>
      changeListsInTx(tx, workspaceId, contactId, { add: [], remove: [list.key] }, 'api', {
        createMissing: false,
        interest,
      }),
    );
    if (event) await routeChanges(engine, [event]);
    res.json({
      listId: list.id,
      key: list.key,
      contactId,
      removed: before.includes(list.key) && !after.includes(list.key),
    });
  });

  return router;
}

async function findList(
  prisma: PrismaClient,
  workspaceId: string,
  ref: string,
): Promise<ContactList> {
  const list = await prisma.contactList.findFirst({
    where: { workspaceId, OR: [{ id: ref }, { key: ref }] },
  });
  if (!list) throw notFound(`List \`${ref}\``);
  return list;
}

/**
 * Each reference's contact id (a contact id, else a user id, else an email, ignoring case),
 * or null; erased contacts count as gone.
 */
async function resolveContacts(
  prisma: PrismaClient,
  workspaceId: string,
  refs: readonly string[],
): Promise<(string | null)[]> {
  const keys = refs.map((r) => r.trim().toLowerCase());
  const rows = await prisma.contact.findMany({
    where: {
      workspaceId,
      OR: [{ id: { in: [...refs] } }, { userId: { in: [...refs] } }, { emailKey: { in: keys } }],
    },
    select: { id: true, userId: true, emailKey: true },
  });
  const erased = new Set(
    (
      await prisma.erasureAudit.findMany({
        where: { workspaceId, contactId: { in: rows.map((r) => r.id) } },
        select: { contactId: true },
      })
    ).map((e) => e.contactId),
  );
  const live = rows.filter((r) => !erased.has(r.id));
  return refs.map(
    (ref, i) =>
      (
        live.find((c) => c.id === ref) ??
        live.find((c) => c.userId === ref) ??
        live.find((c) => c.emailKey === keys[i])
      )?.id ?? null,
  );
}

function view(list: ContactList, members: number) {
  return {
    id: list.id,
    key: list.key,
    name: list.name,
    members,
    createdAt: list.createdAt,
    updatedAt: list.updatedAt,
  };
}
