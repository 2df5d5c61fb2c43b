import { RUNNING_STATUSES } from './signal.js';

/**
 * Which stored events any journey could care about is decided in the statement that stores
 * them: those of contacts with running enrollments (or with events still waiting to be routed,
 * which may be about to enroll them), those whose name triggers an active journey, and all of
 * them when a journey watches conditions. Once one event of a contact in a batch needs routing,
 * the contact's other events in it do too (the first may enroll the contact in a journey that
 * waits for them). The rest are stored as routed already, which saves the write that marks them
 * routed later; most of a firehose is page views no journey listens to.
 *
 * This is the SQL for the first rule: the contacts among `ids` (an SQL text array) that are busy.
 */
export function busyContactsSql(ids: string): string {
  const running = `'{${RUNNING_STATUSES.join(',')}}'::text[]`;
  return `SELECT contact_id FROM enrollments WHERE contact_id = ANY(${ids}) AND status = ANY(${running})
          UNION
          SELECT contact_id FROM events WHERE routed_at IS NULL AND contact_id = ANY(${ids})`;
}

/**
 * All the rules as two CTEs for a statement that stores events: over `rows`, a relation with
 * each event's contact `c` and name `n`, `routed` holds the contacts whose events are to be
 * routed. `conditions` (bool) and `events` (text[]) are the SQL for the journeys' interest.
 */
export function routedContactsCtes(
  rows: string,
  interest: { readonly conditions: string; readonly events: string },
): string {
  return `busy AS (${busyContactsSql(`ARRAY(SELECT c FROM ${rows})`)}),
     routed AS (
       SELECT c FROM ${rows}
       WHERE c IS NOT NULL AND (${interest.conditions} OR n = ANY(${interest.events}) OR c IN (SELECT contact_id FROM busy))
     )`;
}
