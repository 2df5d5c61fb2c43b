import type { PrismaClient } from '@prisma/client';
import {
  attributeSchema,
  checkAttributes,
  type AttributeSchema,
  type ValueSource,
} from '../engine/contacts/attribute-schema.js';
import { invalidInput } from './problem.js';

/**
 * Attribute values checked against the workspace's declared attributes, normalised; a 422
 * problem with one pointer per bad value (below `base`, such as `/traits/plan`) otherwise.
 */
export async function checkedTraits(
  prisma: PrismaClient,
  workspaceId: string,
  values: Readonly<Record<string, unknown>>,
  base: string,
  source: ValueSource = 'json',
): Promise<Record<string, unknown>> {
  return checkedWith(await attributeSchema(prisma, workspaceId), values, base, source);
}

/** The same with a schema already loaded (a batch loads it once for all its messages). */
export function checkedWith(
  schema: AttributeSchema,
  values: Readonly<Record<string, unknown>>,
  base: string,
  source: ValueSource = 'json',
): Record<string, unknown> {
  const checked = checkAttributes(schema, values, source);
  if (checked.ok) return checked.values;
  throw invalidInput(
    'Some attributes do not fit what this workspace declared.',
    checked.problems.map((p) => ({ ...p, pointer: `${base}${p.pointer}` })),
  );
}
