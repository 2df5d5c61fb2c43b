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
 * Writes the enrollment's status, step and new log entries in one statement (run again when it
 * lost a race, below); safe to repeat, which it must be: the workflow runs it as a local
 * activity, so a worker that dies before the workflow task completes means it runs again. Log
 * entries are keyed by (enrollment, seq) and a repeat inserts none; status and step are the same
 * values again; `ended_at` keeps the time of the first final write.
 *
 * A repeat is the same entry (kind and step, and outcome for an end) in the same place: a
 * retried action's entry may say `alreadySent` where the first said `sent`. Another entry in a
 * place already written comes from a workflow task attempt that took another path: Temporal
 * discards the local activities of a task whose completion it rejects (an exit that came while a
 * journey's last action ran, as the run tried to complete), and the next attempt, replaying
 * without them, hears the exit first. What the discarded attempt did happened (the email went),
 * so its entries stay, and from the first entry that differs, the write's entries are added
 * after the log's last one, in their order, each with its own number as `movedFrom` in its
 * detail.
 *
 * The run numbers its entries as before, so from then on its entry `n` has its place that many
 * numbers on: the shift of the moved entry with the greatest `movedFrom` not above `n` (the
 * latest of those). A repeat of a moving write finds its entries in those places, and the run's
 * later entries are written in theirs, with `movedFrom` too. Two writes of one enrollment at
 * once (a task attempt started while a stalled one still writes) can race for a place: the
 * loser's insert does nothing, and the statement runs again, seeing the winner's entries.
 */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const log = input.log ?? [];
  for (let attempt = 1; ; attempt++) {
    const [row] = await deps.sql.query<{ updated: number; written: number; wanted: number }>(
      RECORD_ENROLLMENT,
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
    if (!row || row.updated === 0)
      throw new Error(`Enrollment ${input.enrollmentId} is not stored.`);
    if (row.written === row.wanted) return;
    if (attempt === 3)
      throw new Error(`Enrollment ${input.enrollmentId}: its log is being written by another run.`);
  }
}

const RECORD_ENROLLMENT = `WITH l AS (
    SELECT * FROM unnest($2::int[], $3::timestamp(3)[], $4::text[], $5::text[], $6::text[])
      WITH ORDINALITY AS l(seq, at, kind, step_id, detail, o)
  ),
  moved AS (
    SELECT seq, (detail->>'movedFrom')::int AS mf FROM enrollment_log
    WHERE enrollment_id = $1 AND detail ? 'movedFrom'
  ),
  placed AS (
    SELECT l.*, l.seq + coalesce((
        SELECT m.seq - m.mf FROM moved m WHERE m.mf <= l.seq ORDER BY m.mf DESC, m.seq DESC LIMIT 1
      ), 0) AS place
    FROM l
  ),
  judged AS (
    SELECT p.*, w.seq IS NOT NULL AS taken,
      w.seq IS NOT NULL AND (w.kind <> p.kind OR w.step_id IS DISTINCT FROM p.step_id
        OR (p.kind = 'finished' AND w.detail->'outcome' IS DISTINCT FROM p.detail::jsonb->'outcome'))
        AS differs
    FROM placed p LEFT JOIN enrollment_log w ON w.enrollment_id = $1 AND w.seq = p.place
  ),
  first AS (SELECT min(o) AS o FROM judged WHERE differs),
  last AS (SELECT coalesce(max(seq), 0) AS seq FROM enrollment_log WHERE enrollment_id = $1),
  fresh AS (
    SELECT j.*,
      CASE WHEN j.o >= (SELECT o FROM first)
        THEN (SELECT seq FROM last) + (j.o - (SELECT o FROM first) + 1)::int
        ELSE j.place END AS at_seq
    FROM judged j
    WHERE NOT j.taken OR j.o >= (SELECT o FROM first)
  ),
  log AS (
    INSERT INTO enrollment_log (enrollment_id, seq, at, kind, step_id, detail)
    SELECT $1, at_seq, at, kind, step_id,
      CASE WHEN at_seq = seq THEN detail::jsonb
        ELSE detail::jsonb || jsonb_build_object('movedFrom', seq) END
    FROM fresh
    ON CONFLICT (enrollment_id, seq) DO NOTHING
    RETURNING 1
  ),
  updated AS (
    UPDATE enrollments
    SET status = $7, current_step = $8,
        ended_at = CASE WHEN $9::bool THEN coalesce(ended_at, $10::timestamp(3)) ELSE ended_at END
    WHERE id = $1
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM updated)::int AS updated, (SELECT count(*) FROM log)::int AS written,
    (SELECT count(*) FROM fresh)::int AS wanted`;
