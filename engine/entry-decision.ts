import {
  decideEntry,
  type EntryDecision,
  type EventFacts,
  type Facts,
  type Plan,
} from '../core/index.js';
import type { Sql } from '../store/index.js';
import { loadContactFacts } from './facts.js';

export interface PastEnrollmentRow {
  readonly id: string;
  readonly entryKey: string;
  readonly status: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
}

export type EntryVerdict =
  | { readonly found: false }
  | {
      readonly found: true;
      readonly decision: EntryDecision;
      readonly past: readonly PastEnrollmentRow[];
    };

/**
 * The journey's entry rules (the pure `decideEntry` the simulator uses) applied to the
 * contact's facts and its earlier enrollments in the journey. Enrolling and "why is this
 * contact not in this journey?" both ask here, so they cannot disagree. `facts` may be given
 * when the caller already loaded them for the same event, or is still loading them.
 */
export async function entryVerdict(
  sql: Sql,
  request: {
    readonly workspaceId: string;
    readonly journeyId: string;
    readonly plan: Plan;
    readonly contactId: string;
    readonly trigger: EventFacts | null;
    readonly facts?: Facts | Promise<Facts | null>;
    /** The contact's enrollments in the journey, when the caller has just read them. */
    readonly past?: readonly PastEnrollmentRow[];
  },
): Promise<EntryVerdict> {
  const [facts, past] = await Promise.all([
    request.facts ?? loadContactFacts(sql, request.workspaceId, request.contactId, null),
    request.past ??
      sql
        .query<{
          id: string;
          entry_key: string;
          status: string;
          started_ms: number;
          ended_ms: number | null;
        }>(
          `SELECT e.id, e.entry_key, e.status,
                (extract(epoch FROM e.started_at) * 1000)::float8 AS started_ms,
                (extract(epoch FROM e.ended_at) * 1000)::float8 AS ended_ms
         FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
         WHERE e.contact_id = $1 AND v.journey_id = $2
         ORDER BY e.started_at, e.id`,
          [request.contactId, request.journeyId],
        )
        .then((rows) =>
          rows.map((r) => ({
            id: r.id,
            entryKey: r.entry_key,
            status: r.status,
            startedAtMs: Number(r.started_ms),
            endedAtMs: r.ended_ms === null ? null : Number(r.ended_ms),
          })),
        ),
  ]);
  if (!facts) return { found: false };
  const decision = decideEntry(request.plan, {
    facts,
    trigger: request.trigger,
    history: past.map((p) => ({
      entryKey: p.entryKey,
      startedAt: p.startedAtMs,
      endedAt: p.endedAtMs,
    })),
    now: Date.now(),
  });
  return { found: true, decision, past };
}
