import { evaluate, type Facts } from '../core/index.js';
import { retryOnDeadlock } from '../store/index.js';
import type { EngineDeps } from './deps.js';
import { activeJourneys } from './journey-catalog.js';
import type { TriggeredJourney } from './journeys.js';

/**
 * A `condition` trigger fires when a contact *starts* to match, not on every event while it
 * matches: otherwise a journey that allows re-entry (`afterExit`, `everyTime`, `coolDown`)
 * took the contact in again on each page view for as long as the lead score stayed above 60.
 *
 * `condition_matches` holds a row per journey version and contact while the contact matches.
 * Each event routed for the contact brings it up to date in one statement: rows of conditions
 * that no longer hold go, rows of conditions that now hold are added, and the journeys whose
 * row this event added are the ones the contact enters. Two events of a contact at once both
 * try the insert and one adds the row. The row keeps the event that added it, so that event,
 * routed again after a crash before its enrollment, still enters the journey (and `enroll`
 * takes an event in a journey version once).
 */
export async function journeysStartedToMatch(
  deps: EngineDeps,
  workspaceId: string,
  contactId: string,
  eventId: string,
  facts: Facts,
  now = Date.now(),
): Promise<TriggeredJourney[]> {
  const watching = (await activeJourneys(deps.prisma, workspaceId, now)).filter(({ plan }) =>
    plan.triggers.some((t) => t.type === 'condition'),
  );
  if (watching.length === 0) return [];
  const matching = watching.filter(({ plan }) =>
    plan.triggers.some((t) => t.type === 'condition' && evaluate(t.condition, facts, now)),
  );
  const ids = (journeys: readonly TriggeredJourney[]) => journeys.map((j) => j.versionId).sort();
  const started = await retryOnDeadlock(() =>
    deps.sql.query<{ journey_version_id: string }>(
      // The final SELECT reads the table as it was before this statement: rows this very event
      // added on an earlier routing.
      `WITH gone AS (
         DELETE FROM condition_matches
         WHERE contact_id = $1 AND journey_version_id = ANY($2::text[])
           AND NOT journey_version_id = ANY($3::text[])
       ), added AS (
         INSERT INTO condition_matches (contact_id, journey_version_id, event_id)
         SELECT $1, v, $4 FROM unnest($3::text[]) AS v
         ON CONFLICT DO NOTHING
         RETURNING journey_version_id
       )
       SELECT journey_version_id FROM added
       UNION ALL
       SELECT journey_version_id FROM condition_matches
       WHERE contact_id = $1 AND journey_version_id = ANY($3::text[]) AND event_id = $4`,
      [contactId, ids(watching), ids(matching), eventId],
      { name: 'condition-matches' },
    ),
  );
  const versions = new Set(started.map((r) => r.journey_version_id));
  return matching.filter((j) => versions.has(j.versionId));
}

/**
 * Records that a contact already matches a version's condition trigger, found by the pass over
 * existing contacts at publish: its next event is then no start.
 */
export async function recordExistingMatch(
  deps: EngineDeps,
  contactId: string,
  journeyVersionId: string,
): Promise<void> {
  await deps.sql.query(
    `INSERT INTO condition_matches (contact_id, journey_version_id) VALUES ($1, $2)
     ON CONFLICT DO NOTHING`,
    [contactId, journeyVersionId],
  );
}

/**
 * Whether the contact's match of a version's condition trigger is on record (seen at publish
 * or on an earlier event): its next event is then no start.
 */
export async function matchedAlready(
  deps: Pick<EngineDeps, 'sql'>,
  contactId: string,
  journeyVersionId: string,
): Promise<boolean> {
  const rows = await deps.sql.query(
    `SELECT 1 FROM condition_matches WHERE contact_id = $1 AND journey_version_id = $2`,
    [contactId, journeyVersionId],
  );
  return rows.length > 0;
}
