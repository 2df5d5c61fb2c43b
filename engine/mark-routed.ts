import { coalescePerHandle, type Sql } from '../store/index.js';

/**
 * Routing's last write: the events are marked routed. Routings that finish at the same moment
 * share one statement and its commit (store/coalesce.ts). A crash before the mark commits leaves
 * the events unrouted, and routing them again later (`runRoutingSweeper`, engine/route.ts) is
 * harmless: each workflow deduplicates event ids and enrollment ids are deterministic.
 */
export function markRouted(sql: Sql, eventIds: readonly string[]): Promise<void> {
  return sharedMark(sql, eventIds);
}

const sharedMark = coalescePerHandle(async (sql, batch: readonly (readonly string[])[]) => {
  await sql.query(
    `UPDATE events SET routed_at = now() WHERE id = ANY($1::text[])`,
    [batch.flat()],
    { name: 'mark-routed' },
  );
  return batch.map(() => undefined);
});

/**
 * Marks events routed without waiting, for a request that answers first. A failed mark is
 * logged; the events stay unrouted and the routing sweep (`runRoutingSweeper`) routes them again.
 */
export function markRoutedLater(sql: Sql, eventIds: readonly string[]): void {
  const marking = markRouted(sql, eventIds).catch((error: unknown) =>
    console.error(
      '[drumbeat] marking events routed failed; the routing sweep routes them again:',
      error,
    ),
  );
  pending.add(marking);
  void marking.finally(() => pending.delete(marking));
}

/** Resolves when every mark handed to {@link markRoutedLater} so far is written (shutdown). */
export async function marksWritten(): Promise<void> {
  await Promise.all([...pending]);
}

/** Marks handed to {@link markRoutedLater} and not written yet. */
const pending = new Set<Promise<void>>();
