import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { baseKeyOf, type EntryDecision, type Facts, type Plan } from '../core/index.js';
import {
  enrollmentWorkflowId,
  exitSignal,
  journeyWorkflowV6,
  pauseSignal,
  resumeSignal,
  type JourneyWorkflowInput,
} from '../workflows/index.js';
import { sqlTime } from '../store/index.js';
import type { EngineDeps } from './deps.js';
import { entryVerdict, type PastEnrollmentRow } from './entry-decision.js';
import { signalEnrollment } from './signal.js';
import { readStoredPlan } from './stored-plan.js';

export interface EnrollRequest {
  readonly workspaceId: string;
  readonly journeyId: string;
  readonly journeyVersionId: string;
  readonly plan: Plan;
  readonly contactId: string;
  readonly trigger: JourneyWorkflowInput['trigger'];
  /**
   * The contact's facts, when the caller loaded them for this event, or is loading them (the
   * entry decision then reads the contact's earlier enrollments meanwhile); null: not found.
   */
  readonly facts?: Facts | Promise<Facts | null>;
  /** The contact's enrollments in this journey, when the caller has just read them. */
  readonly past?: readonly PastEnrollmentRow[];
}

type Refusal = Extract<EntryDecision, { enroll: false }>['reason'] | 'contact-not-found';

export type EnrollOutcome =
  | { readonly enrolled: true; readonly enrollmentId: string }
  | { readonly enrolled: false; readonly enrollmentId: string | null; readonly reason: Refusal };

/**
 * Enrolls a contact if the journey's entry rules allow it (the same pure `decideEntry` the
 * simulator uses), then records the enrollment and starts its workflow under an id made of
 * the journey, the contact and the entry key. Both steps are idempotent: a repeat (duplicate
 * event, re-route after a crash) finds the enrollment already there or starts the workflow
 * the first attempt did not reach; two triggers at once collide on the id, and one wins.
 */
export async function enroll(deps: EngineDeps, request: EnrollRequest): Promise<EnrollOutcome> {
  const verdict = await entryVerdict(deps.sql, {
    ...request,
    trigger: request.trigger.name
      ? { name: request.trigger.name, properties: request.trigger.properties }
      : null,
  });
  if (!verdict.found) return { enrolled: false, enrollmentId: null, reason: 'contact-not-found' };
  const { decision, past } = verdict;
  if (!decision.enroll) {
    // A pending enrollment's workflow may not have started (the process stopped in between):
    // starting it again is harmless, since Temporal refuses a second run of the same id.
    for (const p of past.filter((e) => e.status === 'pending'))
      await startPending(deps, request, p);
    const running = past.find((p) => p.endedAtMs === null);
    return { enrolled: false, enrollmentId: running?.id ?? null, reason: decision.reason };
  }
  const enrollmentId = enrollmentWorkflowId(
    request.journeyId,
    request.contactId,
    decision.entryKey,
  );
  // An event enrolls a contact in a journey once: routed again (a retried request, a crash
  // before its routed mark), it would otherwise be a new entry wherever re-entry allows one
  // (`everyTime`, or after the first enrollment ended), and send everything again. A repeat
  // decided at the same moment proposes the same id and meets the first on it.
  const created = await deps.sql.query(
    `INSERT INTO enrollments (id, workspace_id, journey_version_id, contact_id, entry_key, status, trigger_event_id, started_at)
     SELECT $1, $2, $3, $4, $5, 'pending', $6, $7::timestamp(3)
     WHERE $6::text IS NULL OR NOT EXISTS (
       SELECT 1 FROM enrollments
       WHERE contact_id = $4 AND journey_version_id = $3 AND trigger_event_id = $6
     )
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [
      enrollmentId,
      request.workspaceId,
      request.journeyVersionId,
      request.contactId,
      decision.entryKey,
      request.trigger.eventId,
      sqlTime(Date.now()),
    ],
    { name: 'enroll-insert' },
  );
  if (created.length === 0) {
    const first = await enrolledBy(deps, request);
    // Its workflow may not have started (the process stopped in between): start it now.
    if (first?.status === 'pending') await start(deps, request, first.id, first.entryKey);
    return { enrolled: false, enrollmentId: first?.id ?? enrollmentId, reason: 'already-enrolled' };
  }
  if (EXIT_BEFORE_START) process.exit(137);
  return start(deps, request, enrollmentId, decision.entryKey, decision.baseKey);
}

/** The enrollment the request's trigger event already made in this journey version, if any. */
async function enrolledBy(
  deps: EngineDeps,
  request: EnrollRequest,
): Promise<{ id: string; status: string; entryKey: string } | null> {
  if (request.trigger.eventId === null) return null;
  const [row] = await deps.sql.query<{ id: string; status: string; entry_key: string }>(
    `SELECT id, status, entry_key FROM enrollments
     WHERE contact_id = $1 AND journey_version_id = $2 AND trigger_event_id = $3`,
    [request.contactId, request.journeyVersionId, request.trigger.eventId],
  );
  return row ? { id: row.id, status: row.status, entryKey: row.entry_key } : null;
}

/**
 * The enrollments a trigger event made among these contacts, in any version of any journey.
 * For callers that give a stand-in as the event (an enroll step's key, an audience run) and
 * are tried again: what their first attempt made, which `enroll` answers as a repeat.
 */
export async function enrollmentsMadeBy(
  deps: Pick<EngineDeps, 'sql'>,
  triggerEventId: string,
  contactIds: readonly string[],
): Promise<string[]> {
  const rows = await deps.sql.query<{ id: string }>(
    `SELECT id FROM enrollments WHERE trigger_event_id = $1 AND contact_id = ANY($2::text[])`,
    [triggerEventId, contactIds],
  );
  return rows.map((r) => r.id);
}

/**
 * Starts a pending enrollment's workflow as it was decided: with its own journey version, plan
 * and trigger event, not those of the event in hand (another event of the contact, refused
 * because that enrollment runs), whose properties its emails would otherwise render. An
 * enrollment made by an enroll step (no stored event) keeps the request's trigger.
 */
async function startPending(
  deps: EngineDeps,
  request: EnrollRequest,
  pending: { readonly id: string; readonly entryKey: string },
): Promise<void> {
  const [row] = await deps.sql.query<{
    journey_version_id: string;
    plan: unknown;
    event_id: string | null;
    type: string | null;
    name: string | null;
    properties: Record<string, unknown> | null;
  }>(
    `SELECT e.journey_version_id, v.plan, ev.id AS event_id, ev.type, ev.name, ev.properties
     FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
     LEFT JOIN events ev ON ev.id = e.trigger_event_id
     WHERE e.id = $1`,
    [pending.id],
  );
  if (!row) return;
  const read = readStoredPlan(row.plan);
  if (!read.ok) return; // a version this Drumbeat cannot read: left as it is (engine/stored-plan.ts)
  const trigger =
    row.event_id === null
      ? request.trigger
      : // Named as routing names it (engine/route.ts): an identify is `$identify`.
        {
          eventId: row.event_id,
          name: row.name ?? `$${row.type}`,
          properties: row.properties ?? {},
        };
  await start(
    deps,
    { ...request, journeyVersionId: row.journey_version_id, plan: read.plan, trigger },
    pending.id,
    pending.entryKey,
  );
}

/**
 * Test hook: the process dies with the enrollment recorded and its workflow not started, the
 * moment a crash would leave the contact neither waiting nor sent anything. The event that
 * triggered it is not marked routed yet, so the routing sweep routes it again and `enroll` starts
 * the pending enrollment's workflow (tests/scores/crash-recovery.test.ts).
 */
const EXIT_BEFORE_START = process.env.DRUMBEAT_FAULT === 'exit-before-workflow-start';

async function start(
  deps: EngineDeps,
  request: EnrollRequest,
  enrollmentId: string,
  /** The stored entry key (`k1#2` for a repeat of `k1`). */
  stored: string,
  /** The key's own value, when known exactly; else read off `stored`. */
  baseKey?: string,
): Promise<EnrollOutcome> {
  // The workflow correlates its waits on the key's own value (`k1`), not the repeat's name.
  const entryKey = baseKey ?? baseKeyOf(stored, request.plan.enrollment.key !== null);
  try {
    await deps.temporal.workflow.start(journeyWorkflowV6, {
      workflowId: enrollmentId,
      taskQueue: deps.taskQueue,
      args: [
        {
          workspaceId: request.workspaceId,
          journeyVersionId: request.journeyVersionId,
          contactId: request.contactId,
          plan: request.plan,
          trigger: request.trigger,
          entryKey,
        },
      ],
      // The store decides re-entry; Temporal only refuses a second run of the same id.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { enrolled: false, enrollmentId, reason: 'already-enrolled' };
  }
  await catchUpWithStatus(deps, request.journeyVersionId, enrollmentId);
  // The row stays `pending` until the workflow records its first step: one write fewer on
  // the enrollment path, and `pending` already counts as running everywhere.
  return { enrolled: true, enrollmentId };
}

/**
 * Tells a just-started enrollment of a pause, resume or archive it may have missed. Those write
 * the journey's status and then tell its running enrollments, and one started in between (its
 * workflow not there yet when told, or decided on a journey list cached from before) was not
 * told: reading the status after the start catches it, since a later change will find it.
 * After a pause it reads once more, for a resume that came meanwhile.
 */
async function catchUpWithStatus(
  deps: EngineDeps,
  journeyVersionId: string,
  enrollmentId: string,
): Promise<void> {
  let paused = false;
  for (let read = 0; read < 2; read++) {
    const [row] = await deps.sql.query<{ status: string }>(
      `SELECT j.status FROM journey_versions v JOIN journeys j ON j.id = v.journey_id WHERE v.id = $1`,
      [journeyVersionId],
      { name: 'enroll-journey-status' },
    );
    const status = row?.status ?? null;
    if (status === 'archived') {
      await signalEnrollment(deps.temporal, enrollmentId, exitSignal, {
        reason: 'journey-archived',
      });
      return;
    }
    if (status === 'paused' && !paused) {
      await signalEnrollment(deps.temporal, enrollmentId, pauseSignal);
      paused = true;
      continue;
    }
    if (status !== 'paused' && paused)
      await signalEnrollment(deps.temporal, enrollmentId, resumeSignal);
    return;
  }
}
