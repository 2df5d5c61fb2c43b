import type { AttributeDefinition } from '@prisma/client';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import {
  ATTRIBUTE_KEY_PATTERN,
  definitionOf,
  forgetAttributeSchema,
  isReservedAttribute,
} from '../engine/contacts/attribute-schema.js';
import { newId } from '../store/index.js';
import { pageOf, pageResult } from './paging.js';
import { invalidInput, notFound } from './problem.js';
import { AttributeDefinitionSchema, AttributePolicySchema } from './schemas/contacts.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readDefinition = bodyValidator(AttributeDefinitionSchema);
const readPolicy = bodyValidator(AttributePolicySchema);
const KEY = new RegExp(ATTRIBUTE_KEY_PATTERN);

/**
 * Custom attributes a workspace declares (typed, checked on every write) and its policy for
 * undeclared ones. Reading needs a `write` key, changing an `admin` key (api/auth).
 */
export function attributesRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.get('/v1/attributes', async (req, res) => {
    const page = pageOf(req);
    const rows = await prisma.attributeDefinition.findMany({
      where: { workspaceId: workspaceOf(req), ...(page.after ? { id: { gt: page.after } } : {}) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    res.json(pageResult(rows, page, view));
  });

  router.get('/v1/attributes/:key', async (req, res) => {
    const row = await prisma.attributeDefinition.findFirst({
      where: { workspaceId: workspaceOf(req), key: req.params.key },
    });
    if (!row) throw notFound(`Attribute \`${req.params.key}\``);
    res.json(view(row));
  });

  /** Declares or redeclares an attribute; values already stored are not rechecked. */
  router.put('/v1/attributes/:key', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.key;
    const body = readDefinition(req.body);
    const problems: { pointer: string; code: string; message: string }[] = [];
    if (!KEY.test(key))
      problems.push({
        pointer: '/key',
        code: 'bad-format',
        message:
          'An attribute name starts with a letter or `_` and has up to 64 letters, digits or `_`.',
      });
    else if (isReservedAttribute(key))
      problems.push({
        pointer: '/key',
        code: 'reserved',
        message: `\`${key}\` is built in (its type is fixed) and cannot be declared.`,
      });
    if (body.type === 'enum' && !body.values)
      problems.push({
        pointer: '/values',
        code: 'required',
        message: 'An `enum` attribute needs its allowed `values`.',
      });
    if (body.type !== 'enum' && body.values)
      problems.push({
        pointer: '/values',
        code: 'not-allowed',
        message: `Only \`enum\` attributes have \`values\`; this one is \`${body.type}\`.`,
      });
    if (problems.length > 0) throw invalidInput('The attribute definition has problems.', problems);
    const data = {
      type: body.type,
      label: body.label ?? null,
      values: body.type === 'enum' ? (body.values ?? []) : [],
    };
    const existing = await prisma.attributeDefinition.findUnique({
      where: { workspaceId_key: { workspaceId, key } },
      select: { id: true },
    });
    const row = await prisma.attributeDefinition.upsert({
      where: { workspaceId_key: { workspaceId, key } },
      create: { id: newId(), workspaceId, key, ...data },
      update: data,
    });
    forgetAttributeSchema(workspaceId);
    res.status(existing ? 200 : 201).json(view(row));
  });

  /** Forgets the declaration; the values contacts hold stay (and become undeclared). */
  router.delete('/v1/attributes/:key', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const deleted = await prisma.attributeDefinition.deleteMany({
      where: { workspaceId, key: req.params.key },
    });
    if (deleted.count === 0) throw notFound(`Attribute \`${req.params.key}\``);
    forgetAttributeSchema(workspaceId);
    res.json({ deleted: true, key: req.params.key });
  });

  router.get('/v1/attribute-policy', async (req, res) => {
    const row = await prisma.attributePolicy.findUnique({
      where: { workspaceId: workspaceOf(req) },
    });
    res.json({ unknownAttributes: row?.unknownAttributes ?? 'store' });
  });

  router.put('/v1/attribute-policy', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const { unknownAttributes } = readPolicy(req.body);
    await prisma.attributePolicy.upsert({
      where: { workspaceId },
      create: { workspaceId, unknownAttributes },
      update: { unknownAttributes },
    });
    forgetAttributeSchema(workspaceId);
    res.json({ unknownAttributes });
  });

  return router;
}

function view(row: AttributeDefinition) {
  const definition = definitionOf(row);
  return {
    id: row.id,
    key: definition.key,
    type: definition.type,
    label: definition.label,
    ...(definition.type === 'enum' ? { values: definition.values } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
