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
 */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const log = input.log ?? [];
  const updated = await deps.sql.query<{ id: string }>(
    `WITH log AS (
       INSERT INTO enrollment_log (enrollment_id, seq, at, kind, step_id, detail)
       SELECT $1, l.seq, l.at, l.kind, l.step_id, l.detail::jsonb
       FROM unnest($2::int[], $3::timestamp(3)[], $4::text[], $5::text[], $6::text[])
         AS l(seq, at, kind, step_id, detail)
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
