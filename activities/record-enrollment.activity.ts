import { coalescePerHandle, sqlTime, type Sql } from '../store/index.js';
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
 * entry (with its result, which only the activity has) at `actionSeq`, then `after` (the steps
 * entered on the way out and the `finished` entry). The activity stamps the last two with its
 * own time.
 */
export interface ClosingRecord {
  readonly enrollmentId: string;
  readonly status: Exclude<RecordEnrollmentInput['status'], 'active'>;
  readonly stepId: string | null;
  readonly reason: string | null;
  readonly before: readonly LogEntry[];
  readonly actionSeq: number;
  readonly after: readonly LogEntry[];
}

/** The record a closing action writes, given its result (see {@link ClosingRecord}). */
export function closingRecordInput(
  closing: ClosingRecord,
  action: { readonly type: string; readonly iteration: number; readonly stepId: string },
  result: unknown,
): RecordEnrollmentInput {
  const at = Date.now();
  const entry: LogEntry = {
    seq: closing.actionSeq,
    at,
    kind: 'action',
    stepId: action.stepId,
    detail: { action: action.type, iteration: action.iteration, result },
  };
  return {
    enrollmentId: closing.enrollmentId,
    status: closing.status,
    stepId: closing.stepId,
    reason: closing.reason,
    log: [...closing.before, entry, ...closing.after.map((e) => ({ ...e, at }))],
  };
}

/**
 * Writes the enrollment's status, step and new log entries in one statement; safe to repeat,
 * which it must be: the workflow runs it as a local activity, so a worker that dies before the
 * workflow task completes means it runs again. Log entries are keyed by (enrollment, seq) and
 * a repeat inserts none; status and step are the same values again; `ended_at` keeps the time
 * of the first final write. Records written at the same moment by different enrollments share
 * the statement and its commit (store/coalesce.ts).
 */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const stored = await sharedRecord(deps.sql, input);
  // Retried like any failure: the row is written before the workflow starts.
  if (!stored) throw new Error(`Enrollment ${input.enrollmentId} is not stored.`);
}

/**
 * Writes a batch of records, answering for each whether its enrollment is stored. A second
 * record of an enrollment in the same batch (a retry that overlapped its first attempt) is
 * written after the first, so the later one is what stays.
 */
async function recordAll(
  sql: Sql,
  batch: readonly RecordEnrollmentInput[],
): Promise<readonly boolean[]> {
  const seen = new Set<string>();
  const now: RecordEnrollmentInput[] = [];
  const after: number[] = [];
  batch.forEach((record, i) => {
    if (seen.has(record.enrollmentId)) after.push(i);
    else {
      seen.add(record.enrollmentId);
      now.push(record);
    }
  });
  const log = now.flatMap((r) => (r.log ?? []).map((e) => ({ id: r.enrollmentId, e })));
  const updated = await sql.query<{ id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[])
         AS i(id, status, step_id, ended)
     ), log AS (
       INSERT INTO enrollment_log (enrollment_id, seq, at, kind, step_id, detail)
       SELECT l.enrollment_id, l.seq, l.at, l.kind, l.step_id, l.detail::jsonb
       FROM unnest($5::text[], $6::int[], $7::timestamp(3)[], $8::text[], $9::text[], $10::text[])
         AS l(enrollment_id, seq, at, kind, step_id, detail)
       ON CONFLICT (enrollment_id, seq) DO NOTHING
     )
     UPDATE enrollments e
     SET status = i.status, current_step = i.step_id,
         ended_at = CASE WHEN i.ended THEN coalesce(e.ended_at, $11::timestamp(3)) ELSE e.ended_at END
     FROM input i
     WHERE e.id = i.id
     RETURNING e.id`,
    [
      now.map((r) => r.enrollmentId),
      now.map((r) => r.status),
      now.map((r) => r.stepId),
      now.map((r) => r.status !== 'active'),
      log.map(({ id }) => id),
      log.map(({ e }) => e.seq),
      log.map(({ e }) => sqlTime(e.at)),
      log.map(({ e }) => e.kind),
      log.map(({ e }) => e.stepId),
      log.map(({ e }) => JSON.stringify(e.detail)),
      sqlTime(Date.now()),
    ],
    { name: 'record-enrollments' },
  );
  const stored = new Set(updated.map((row) => row.id));
  const answers = batch.map((record) => stored.has(record.enrollmentId));
  if (after.length > 0) {
    const later = await recordAll(
      sql,
      after.map((i) => batch[i] as RecordEnrollmentInput),
    );
    after.forEach((i, k) => (answers[i] = later[k] ?? false));
  }
  return answers;
}

const sharedRecord = coalescePerHandle(recordAll);
