import type { Prisma } from '@prisma/client';

/** What `parseColumnMapping` expects, for the API's problem and the CLI's error alike. */
export const COLUMN_MAPPING_FORMAT = 'Column:target,Other column:target';

/**
 * `Mail:email,Customer no:userId` (the API's `?map=`, the CLI's `--map`) as header → target,
 * which `columnTarget` applies before matching headers. A header may itself hold a colon: the
 * last one in a pair separates. Null when a pair has no header or no target.
 */
export function parseColumnMapping(raw: string): Map<string, string> | null {
  const map = new Map<string, string>();
  for (const pair of raw.split(',')) {
    const at = pair.lastIndexOf(':');
    if (at <= 0 || at === pair.length - 1) return null;
    map.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return map;
}

/** A job's stored `?map=` (header → target) as the map `importContacts` takes. */
export function storedColumnMapping(mapping: Prisma.JsonValue): Map<string, string> {
  const entries =
    typeof mapping === 'object' && mapping !== null && !Array.isArray(mapping)
      ? Object.entries(mapping)
      : [];
  return new Map(entries.filter((e): e is [string, string] => typeof e[1] === 'string'));
}
