import { sqlTime } from '../store/index.js';
import type { ActivityDeps } from './deps.js';

export interface LogEntry {
  readonly seq: number;
  /** Workflow time, epoch ms. */
  readonly at: number;
  /** `branch`, `goalMet` and `exitMet` carry the case or criterion taken and the values read. */
  readonly kind:
    | 'entered'
    | 'branch'
    | 'goalMet'
    | 'exitMet'
    | 'action'
    | 'actionFailed'
    | 'wait'
    | 'woke'
    | 'event'
    | 'paused'
    | 'deferred'
    | 'resumed'
    | 'finished';
  readonly stepId: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RecordEnrollmentInput {
  readonly enrollmentId: string;
  readonly status: 'active' | 'completed' | 'exited' | 'converted' | 'failed';
  readonly stepId: string | null;
  readonly reason?: string | null;
  /** Log entries since the last record; `seq` makes a retried write insert nothing twice. */
  readonly log?: readonly LogEntry[];
}

/**
 * The enrollment's end, planned by the workflow before its last action, for that action's
 * activity to write once the action is done: the entries not written yet, then the action's own
 * entry (which gets the action's result, which only the activity has), then `after` (the steps
 * entered on the way out and the `finished` entry). The activity stamps the last two with its
 * own time.
 */
export interface ClosingRecord {
  readonly enrollmentId: string;
  readonly status: Exclude<RecordEnrollmentInput['status'], 'active'>;
  readonly stepId: string | null;
  readonly reason: string | null;
  readonly before: readonly LogEntry[];
  readonly action: LogEntry;
  readonly after: readonly LogEntry[];
}

/** The record a closing action writes, given its result (see {@link ClosingRecord}). */
export function closingRecordInput(closing: ClosingRecord, result: unknown): RecordEnrollmentInput {
  const at = Date.now();
  const action: LogEntry = { ...closing.action, at, detail: { ...closing.action.detail, result } };
  return {
    enrollmentId: closing.enrollmentId,
    status: closing.status,
    stepId: closing.stepId,
    reason: closing.reason,
    log: [...closing.before, action, ...closing.after.map((e) => ({ ...e, at }))],
  };
}

/**
 * Writes the enrollment's status, step and new log entries in one statement; safe to repeat,
 * which it must be: the workflow runs it as a local activity, so a worker that dies before the
 * workflow task completes means it runs again. Log entries are keyed by (enrollment, seq) and
 * a repeat inserts none; status and step are the same values again; `ended_at` keeps the time
 * of the first final write.
 *
 * A repeat is the same entry (kind and step) under the same number. Another entry under a number
 * already written comes from a workflow task attempt that took another path: Temporal discards
 * the local activities of a task whose completion it rejects (an exit that came while a
 * journey's last action ran, as the run tried to complete), and the next attempt, replaying
 * without them, hears the exit first. What the discarded attempt did happened (the email went),
 * so its entries stay, and the entries numbered over them are added after the log's last one,
 * in their order, each with the number it was given as `movedFrom` in its detail (which is how
 * a repeat of that write finds them written). The first entry that differs starts the moving:
 * every entry after it in the same write moves too, keeping the write's order. A run that goes
 * on after such a write numbers its entries as before; those that meet a moved entry move too,
 * until its numbers pass the log's.
 */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const log = input.log ?? [];
  const updated = await deps.sql.query<{ id: string }>(
    `WITH l AS (
       SELECT * FROM unnest($2::int[], $3::timestamp(3)[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS l(seq, at, kind, step_id, detail, o)
     ),
     judged AS (
       SELECT l.*, w.seq IS NOT NULL AS taken,
         w.seq IS NOT NULL
           AND (w.kind <> l.kind OR w.step_id IS DISTINCT FROM l.step_id OR w.detail ? 'movedFrom')
           AS differs
       FROM l LEFT JOIN enrollment_log w ON w.enrollment_id = $1 AND w.seq = l.seq
     ),
     -- Moved already by an earlier run of this same write.
     placed AS (
       SELECT j.*, CASE WHEN j.differs THEN EXISTS (
           SELECT 1 FROM enrollment_log m
           WHERE m.enrollment_id = $1 AND m.seq > j.seq AND m.detail->'movedFrom' = to_jsonb(j.seq)
             AND m.kind = j.kind AND m.step_id IS NOT DISTINCT FROM j.step_id
         ) ELSE false END AS moved
       FROM judged j
     ),
     first AS (SELECT min(o) AS o FROM placed WHERE differs AND NOT moved),
     fresh AS (
       SELECT p.*, p.o >= (SELECT o FROM first) AS moves FROM placed p
       WHERE NOT p.moved AND (NOT p.taken OR p.o >= (SELECT o FROM first))
     ),
     last AS (SELECT max(seq) AS seq FROM enrollment_log WHERE enrollment_id = $1),
     log AS (
       INSERT INTO enrollment_log (enrollment_id, seq, at, kind, step_id, detail)
       SELECT $1, seq, at, kind, step_id, detail::jsonb FROM fresh WHERE moves IS NOT TRUE
       UNION ALL
       SELECT $1, (SELECT seq FROM last) + (row_number() OVER (ORDER BY o))::int, at, kind, step_id,
         detail::jsonb || jsonb_build_object('movedFrom', seq)
       FROM fresh WHERE moves
       ON CONFLICT (enrollment_id, seq) DO NOTHING
     )
     UPDATE enrollments
     SET status = $7, current_step = $8,
         ended_at = CASE WHEN $9::bool THEN coalesce(ended_at, $10::timestamp(3)) ELSE ended_at END
     WHERE id = $1
     RETURNING id`,
    [
      input.enrollmentId,
      log.map((e) => e.seq),
      log.map((e) => sqlTime(e.at)),
      log.map((e) => e.kind),
      log.map((e) => e.stepId),
      log.map((e) => JSON.stringify(e.detail)),
      input.status,
      input.stepId,
      input.status !== 'active',
      sqlTime(Date.now()),
    ],
    { name: 'record-enrollment' },
  );
  // Retried like any failure: the row is written before the workflow starts.
  if (updated.length === 0) throw new Error(`Enrollment ${input.enrollmentId} is not stored.`);
}
