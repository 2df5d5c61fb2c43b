import type { Prisma } from '@prisma/client';

/** A JSON-only copy of a value for a Json column (drops `undefined`, which Prisma refuses). */
export function toJson(value: object): Prisma.InputJsonObject {
  return JSON.parse(JSON.stringify(value)) as Prisma.InputJsonObject;
}
