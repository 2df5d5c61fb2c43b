import type { PrismaClient } from '@prisma/client';
import { Router } from 'express';
import { ingest, type EngineDeps } from '../engine/index.js';
import { attributeSchema, checkAttributes } from '../engine/contacts/attribute-schema.js';
import { findContact } from '../engine/contacts/find.js';
import { setOwner } from '../engine/contacts/owner.js';
import { newId } from '../store/index.js';
import { contactBody } from './contact-body.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import {
  CreateContactSchema,
  UpdateContactSchema,
  type UpdateContactBody,
} from './schemas/contacts.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readCreate = bodyValidator(CreateContactSchema);
const readUpdate = bodyValidator(UpdateContactSchema);

/**
 * Creating and updating contacts by API. Fields and attributes are checked against the
 * workspace's declared attributes, then written as an `identify` (source `api`), so the change
 * is on the timeline, scores see it and journeys waiting for a condition hear about it.
 */
export function contactsWriteRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.post('/v1/contacts', async (req, res) => {
    const body = readCreate(req.body);
    const workspaceId = workspaceOf(req);
    if (body.userId === undefined && body.email === undefined)
      throw invalidInput('Say who this contact is.', [
        {
          pointer: '/userId',
          code: 'required',
          message: 'A contact needs a `userId`, an `email` or both.',
        },
      ]);
    const traits = await checkedFields(prisma, workspaceId, body);
    await checkOwner(prisma, workspaceId, body.ownerId);
    const emailKey = typeof traits.email === 'string' ? traits.email.toLowerCase() : null;
    const taken = await prisma.contact.findFirst({
      where: {
        workspaceId,
        OR: [
          ...(body.userId === undefined ? [] : [{ userId: body.userId }]),
          ...(emailKey === null ? [] : [{ emailKey }]),
        ],
      },
      select: { userId: true },
    });
    if (taken) {
      const byUser = body.userId !== undefined && taken.userId === body.userId;
      throw new HttpProblem(
        409,
        `${PROBLEM_BASE}conflict`,
        'Already exists',
        'A contact with this user id or email already exists; update it instead.',
        [
          {
            pointer: byUser ? '/userId' : emailPointer(body),
            code: 'duplicate',
            detail: byUser
              ? 'Another contact has this user id.'
              : 'Another contact has this email.',
          },
        ],
      );
    }
    // Without a user id the contact is anonymous until an identify names it (like an import).
    // The owner is written with the contact, before routing: a retry of a request whose routing
    // failed would meet the contact (409) and never set it. Once the contact is stored with its
    // owner (`created`), a routing failure is left to the routing sweep and the contact answered
    // as created; any failure before that is the request's.
    let created: string | null = null;
    try {
      await ingest(
        engine,
        workspaceId,
        {
          ...identify(traits),
          userId: body.userId ?? null,
          anonymousId: body.userId === undefined ? `api:${newId()}` : null,
        },
        'api',
        async (contactId) => {
          if (body.ownerId !== undefined)
            await ownContact(prisma, workspaceId, contactId, body.ownerId);
          created = contactId;
        },
      );
    } catch (error) {
      if (created === null) throw error;
      console.error(
        '[drumbeat] a created contact was not routed; the routing sweep routes it:',
        error,
      );
    }
    if (created === null) throw new Error('identify stored no contact');
    res.status(201).json(await contactBody(prisma, workspaceId, created));
  });

  router.patch('/v1/contacts/:idOrUserId', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await findContact(prisma, workspaceId, key, { writable: true });
    if (!contact) throw notFound(`Contact \`${key}\``);
    const body = readUpdate(req.body);
    const traits = await checkedFields(prisma, workspaceId, body);
    await checkOwner(prisma, workspaceId, body.ownerId);
    if (typeof traits.email === 'string') {
      const holder = await prisma.contact.findFirst({
        where: { workspaceId, emailKey: traits.email.toLowerCase(), id: { not: contact.id } },
        select: { userId: true },
      });
      // An anonymous holder is the same person seen earlier: the identify merges it in.
      if (holder?.userId)
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}conflict`,
          'Email taken',
          'Another contact with a user id has this email.',
          [
            {
              pointer: emailPointer(body),
              code: 'duplicate',
              detail: 'Another contact has this email.',
            },
          ],
        );
    }
    // The owner first: it is checked again as it is written, and refused before the traits are.
    if (body.ownerId !== undefined) await ownContact(prisma, workspaceId, contact.id, body.ownerId);
    if (Object.keys(traits).length > 0) {
      const anonymousId = contact.anonymousIds[0] ?? null;
      if (contact.userId === null && anonymousId === null)
        throw new Error(`contact ${contact.id} has neither a user id nor an anonymous id`);
      await ingest(engine, workspaceId, {
        ...identify(traits),
        userId: contact.userId,
        anonymousId: contact.userId === null ? anonymousId : null,
      });
    }
    res.json(await contactBody(prisma, workspaceId, contact.id));
  });

  return router;
}

/**
 * The body's fields and attributes as identify traits, checked and normalised; a 422 with a
 * pointer per bad value (`/email`, `/attributes/plan`) otherwise.
 */
async function checkedFields(
  prisma: PrismaClient,
  workspaceId: string,
  body: UpdateContactBody,
): Promise<Record<string, unknown>> {
  const schema = await attributeSchema(prisma, workspaceId);
  const fields = checkAttributes(schema, {
    ...(body.email === undefined ? {} : { email: body.email }),
    ...(body.timezone === undefined ? {} : { timezone: body.timezone }),
    ...(body.locale === undefined ? {} : { locale: body.locale }),
  });
  const attributes = checkAttributes(schema, body.attributes ?? {});
  const problems = [
    ...(fields.ok ? [] : fields.problems),
    ...(attributes.ok
      ? []
      : attributes.problems.map((p) => ({ ...p, pointer: `/attributes${p.pointer}` }))),
  ];
  if (!fields.ok || !attributes.ok || problems.length > 0)
    throw invalidInput('Some fields do not fit what this workspace declared.', problems);
  return { ...attributes.values, ...fields.values };
}

/** An owner must be a user of the same workspace: otherwise a 422 at `/ownerId`. */
async function checkOwner(
  prisma: PrismaClient,
  workspaceId: string,
  ownerId: string | null | undefined,
): Promise<void> {
  if (ownerId === undefined || ownerId === null) return;
  const user = await prisma.user.findFirst({
    where: { id: ownerId, workspaceId, removedAt: null },
  });
  if (!user) throw unknownOwner(ownerId);
}

/** Sets the owner; a user deleted since `checkOwner` is the same 422 as one never there. */
async function ownContact(
  prisma: PrismaClient,
  workspaceId: string,
  contactId: string,
  ownerId: string | null,
): Promise<void> {
  const owner = await setOwner(prisma, workspaceId, contactId, ownerId, 'api');
  if (owner.kind === 'unknown-user') throw unknownOwner(ownerId ?? '');
  if (owner.kind === 'contact-not-found') throw notFound(`Contact \`${contactId}\``);
}

function unknownOwner(ownerId: string) {
  return invalidInput('The owner must be a user of this workspace.', [
    {
      pointer: '/ownerId',
      code: 'unknown-user',
      message: `There is no user \`${ownerId}\` in this workspace (see GET /v1/users).`,
    },
  ]);
}

function identify(traits: Record<string, unknown>) {
  return {
    type: 'identify' as const,
    messageId: `api:${newId()}`,
    event: null,
    traits,
    properties: {},
    timestamp: new Date(),
  };
}

/** Where the body gave the email: the field, or else the attribute (`attributes.email`). */
function emailPointer(body: { readonly email?: unknown }): string {
  return body.email !== undefined ? '/email' : '/attributes/email';
}
