import type { AudienceRun, Contact } from '@prisma/client';
import {
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  evaluate,
  isDateOnly,
  localParts,
  PLAN_FORMAT,
  readField,
  toEpoch,
  zoneOf,
  type Facts,
  type Plan,
  type PlanTrigger,
} from '../core/index.js';
import { isOneOffRunId, oneOffRunId, publishRunId } from '../workflows/index.js';
import type { EngineDeps } from './deps.js';
import { recordExistingMatch } from './condition-matches.js';
import { enroll, enrollmentsMadeBy } from './enroll.js';
import { loadContactFacts } from './facts.js';
import { planOf } from './journeys.js';
import { journeyWithLatest } from './stored-plan.js';

/**
 * Passes over a journey's audience, a page of contacts at a time: contacts who already match
 * when a journey is published (`enrollExisting`), a schedule trigger's audience, or the
 * contacts whose date attribute falls today for a date trigger. Entry rules decide each
 * enrollment exactly as for live events, so a repeated page enrolls no one twice.
 */
export type AudienceReason = 'publish' | 'schedule' | 'date';

/**
 * `failed` and `cancelled` runs carry a `failure` a marketer can read. A run that is cancelled
 * records that itself; one terminated in Temporal cannot, and is settled when listed.
 */
export type AudienceRunStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** A pass that no retry can help; its message is what the API shows as the run's failure. */
export class AudienceRunError extends Error {
  override readonly name = 'AudienceRunError';
  constructor(
    readonly type: 'unreadable-plan',
    message: string,
  ) {
    super(message);
  }
}

export interface AudiencePageRequest {
  readonly runId: string;
  readonly workspaceId: string;
  readonly journeyId: string;
  readonly reason: AudienceReason;
  /** For schedule and date runs: which trigger of the plan. */
  readonly triggerIndex: number | null;
  readonly cursor: string | null;
  readonly pageSize: number;
}

export interface AudiencePage {
  readonly nextCursor: string | null;
  readonly scanned: number;
  readonly enrolled: number;
  /**
   * The journey is paused: the publish pass waits and asks for this page again, rather than
   * ending with the contacts after it never seen (they would enter on their next event as if
   * they had just started to match, or never with `enrollExisting`).
   */
  readonly held?: boolean;
}

export async function enrollAudiencePage(
  deps: EngineDeps,
  request: AudiencePageRequest,
  now = Date.now(),
): Promise<AudiencePage> {
  const { prisma } = deps;
  const found = await journeyWithLatest(prisma, { id: request.journeyId });
  const journey = found?.journey;
  const latest = found?.latest;
  if (journey && latest && request.reason === 'publish') {
    // A newer version was published meanwhile: its own pass covers the audience.
    if (request.runId !== publishRunId(journey.id, latest.id))
      return { nextCursor: null, scanned: 0, enrolled: 0 };
    if (journey.status === 'paused')
      return { nextCursor: request.cursor, scanned: 0, enrolled: 0, held: true };
  }
  if (journey && latest && request.reason === 'schedule' && request.triggerIndex !== null) {
    // A one-off send of an earlier version (`at`), published again since: the delayed run
    // started for it still comes, and would send at the old time as well (or twice, at the
    // same time). Only the latest version's own run goes.
    const index = request.triggerIndex;
    const own = oneOffRunId(journey.id, latest.id, index);
    // A run already paging goes on: cut off, the rest of its audience would get nothing.
    if (
      request.cursor === null &&
      request.runId !== own &&
      isOneOffRunId(request.runId, journey.id, index)
    )
      return { nextCursor: null, scanned: 0, enrolled: 0 };
  }
  if (!journey || !latest || journey.status !== 'active')
    return { nextCursor: null, scanned: 0, enrolled: 0 };
  const plan = planOf(latest);
  // A stored plan is whatever the Drumbeat that published it wrote (a newer one, mid-upgrade).
  const format: unknown = plan.format;
  if (format !== PLAN_FORMAT)
    throw new AudienceRunError(
      'unreadable-plan',
      `Version ${latest.version} of this journey was saved in a format this Drumbeat cannot read ` +
        `(plan format ${String(format)}, this one reads ${PLAN_FORMAT}): publish the journey again.`,
    );
  const contacts = await prisma.contact.findMany({
    where: {
      workspaceId: request.workspaceId,
      ...(request.cursor ? { id: { gt: request.cursor } } : {}),
    },
    orderBy: { id: 'asc' },
    take: request.pageSize,
  });
  let enrolled = 0;
  for (const contact of contacts) {
    const facts = await loadContactFacts(deps.sql, request.workspaceId, contact.id, null);
    if (!facts) continue;
    if (request.reason === 'publish') {
      // Matching already, the contact's next event is no start of a match (condition-matches.ts).
      if (matchesCondition(plan, facts, now))
        await recordExistingMatch(deps, contact.id, latest.id);
      if (!plan.enrollment.enrollExisting) continue;
    }
    const trigger = matches(plan, request, contact, facts, now);
    if (!trigger) continue;
    const outcome = await enroll(deps, {
      workspaceId: request.workspaceId,
      journeyId: journey.id,
      journeyVersionId: latest.id,
      plan,
      contactId: contact.id,
      // The run stands for the trigger event: an event enrolls a contact in a journey once
      // (engine/enroll.ts), so a page tried again (its activity failed part-way or timed out)
      // finds the enrollments its first attempt made instead of making second entries where
      // re-entry allows them (`everyTime`, or `afterExit` once the first ended).
      trigger: {
        eventId: runEvent(request.runId),
        name: trigger.name,
        properties: trigger.properties,
      },
      facts,
    });
    if (outcome.enrolled) enrolled++;
  }
  const nextCursor = contacts.length === request.pageSize ? (contacts.at(-1)?.id ?? null) : null;
  // Counted once per page: a retry of a page already counted (the run's cursor moved on, to the
  // next page or past the last) adds nothing, and one that was not counts the enrollments of
  // both attempts.
  if (contacts.length > 0 && enrolled < contacts.length) {
    const ids = contacts.map((c) => c.id);
    enrolled = (await enrollmentsMadeBy(deps, runEvent(request.runId), ids)).length;
  }
  await prisma.audienceRun.updateMany({
    where: { id: request.runId, cursor: request.cursor },
    data: {
      scanned: { increment: contacts.length },
      enrolled: { increment: enrolled },
      cursor: nextCursor ?? PAGES_DONE,
    },
  });
  return { nextCursor, scanned: contacts.length, enrolled };
}

export interface AudienceRunView {
  readonly id: string;
  readonly reason: string;
  readonly status: string;
  readonly scanned: number;
  readonly enrolled: number;
  readonly failure: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

/**
 * A journey's latest passes over its audience, newest first. A run the store still calls
 * running is checked against Temporal: one that ended without recording it (terminated, timed
 * out, or failed before it could) is settled now, so no run says `running` forever.
 */
export async function listAudienceRuns(
  deps: EngineDeps,
  journeyId: string,
): Promise<AudienceRunView[]> {
  const runs = await deps.prisma.audienceRun.findMany({
    where: { journeyId },
    orderBy: { startedAt: 'desc' },
    take: 50,
  });
  const settled = await Promise.all(
    runs.map(async (run) => (run.status === 'running' ? settleAudienceRun(deps, run) : run)),
  );
  return settled.map((r) => ({
    id: r.id,
    reason: r.reason,
    status: r.status,
    scanned: r.scanned,
    enrolled: r.enrolled,
    failure: r.failure,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  }));
}

async function settleAudienceRun(deps: EngineDeps, run: AudienceRun): Promise<AudienceRun> {
  const end = await endInTemporal(deps, run.id);
  if (!end) return run;
  // Only a row still `running`: the workflow's own record, if it made one meanwhile, wins.
  await deps.prisma.audienceRun.updateMany({
    where: { id: run.id, status: 'running' },
    data: end,
  });
  return (await deps.prisma.audienceRun.findUnique({ where: { id: run.id } })) ?? run;
}

type RunEnd = {
  readonly status: Exclude<AudienceRunStatus, 'running'>;
  readonly failure: string | null;
  readonly finishedAt: Date;
};

/** How the run's workflow (the last of its continued runs) ended; null while it runs. */
async function endInTemporal(deps: EngineDeps, workflowId: string): Promise<RunEnd | null> {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) return null;
    return {
      status: 'failed',
      failure: 'Temporal has no record of this run any more, so it is not running.',
      finishedAt: new Date(),
    };
  }
  if (description.status.name === 'RUNNING') return null;
  const finishedAt = description.closeTime ?? new Date();
  try {
    await handle.result();
    return { status: 'done', failure: null, finishedAt };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : error;
    if (cause instanceof TerminatedFailure)
      return {
        status: 'cancelled',
        failure: `Stopped in Temporal (terminated): ${cause.message}`,
        finishedAt,
      };
    if (cause instanceof CancelledFailure)
      return { status: 'cancelled', failure: 'The run was cancelled.', finishedAt };
    if (cause instanceof TimeoutFailure)
      return {
        status: 'failed',
        failure: 'The run went past its time limit in Temporal.',
        finishedAt,
      };
    const message = innermostMessage(cause);
    return { status: 'failed', failure: message || 'The run failed in Temporal.', finishedAt };
  }
}

function innermostMessage(error: unknown): string {
  let message = '';
  for (let e: unknown = error; e instanceof Error; e = e.cause) message = e.message || message;
  return message;
}

type Match = { readonly name: string; readonly properties: Record<string, unknown> } | null;

function matches(
  plan: Plan,
  request: AudiencePageRequest,
  contact: Contact,
  facts: Facts,
  now: number,
): Match {
  if (request.reason === 'publish') {
    const hit = plan.triggers.some((t) => matchesNow(t, facts, now));
    return hit ? { name: '$existing', properties: {} } : null;
  }
  const trigger = request.triggerIndex === null ? undefined : plan.triggers[request.triggerIndex];
  if (!trigger) return null;
  if (trigger.type === 'schedule') {
    return !trigger.audience || evaluate(trigger.audience, facts, now)
      ? { name: '$schedule', properties: {} }
      : null;
  }
  if (trigger.type === 'date') {
    if (trigger.audience && !evaluate(trigger.audience, facts, now)) return null;
    const date = dateDue(trigger, facts, contact.timezone, now);
    return date ? { name: '$date', properties: { date } } : null;
  }
  return null;
}

/** The wall-clock date `value` (written in UTC) moved to `year`, the day clamped to that month. */
function anniversaryIn(year: number, value: number): number {
  const d = new Date(value);
  const lastDay = new Date(Date.UTC(year, d.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(
    year,
    d.getUTCMonth(),
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
  );
}

/**
 * A stored date as wall-clock time written in UTC (midnight for a date alone): a date alone
 * (`2026-03-01`) is that day wherever the contact is; a moment (`2026-03-01T02:00:00+09:00`)
 * is the day and time it is in the contact's zone, where it was 1 March, not UTC's 28 February.
 */
function wallClock(raw: unknown, value: number, zone: string): number {
  if (isDateOnly(raw)) return value;
  const local = localParts(value, zone);
  return Date.UTC(local.year, local.month - 1, local.day) + local.minuteOfDay * 60_000;
}

function matchesCondition(plan: Plan, facts: Facts, now: number): boolean {
  return plan.triggers.some((t) => t.type === 'condition' && evaluate(t.condition, facts, now));
}

/** Whether a contact "already matches" a trigger that describes a state, not a moment. */
function matchesNow(trigger: PlanTrigger, facts: Facts, now: number): boolean {
  switch (trigger.type) {
    case 'condition':
      return evaluate(trigger.condition, facts, now);
    case 'lifecycleChange':
      return trigger.to !== null && facts.lifecycleStage === trigger.to;
    case 'event':
    case 'webhook':
    case 'schedule':
    case 'date':
    case 'manual':
      return false;
  }
}

/**
 * The contact's date (plus the trigger's offset) when it falls on today in the contact's time
 * zone; yearly triggers compare month and day. Returns the date as YYYY-MM-DD, which also
 * keys the enrollment so one run a day enrolls a contact once.
 */
export function dateDue(
  trigger: Extract<PlanTrigger, { type: 'date' }>,
  facts: Facts,
  timezone: string | null,
  now: number,
): string | null {
  const raw = readField(trigger.attribute, facts);
  const stored = toEpoch(raw);
  if (stored === undefined) return null;
  const zone = zoneOf(timezone, trigger.fallbackTimezone);
  const value = wallClock(raw, stored, zone);
  const today = localParts(now, zone);
  const isToday = (ms: number) => {
    const t = localParts(ms, 'UTC');
    return t.year === today.year && t.month === today.month && t.day === today.day;
  };
  // Yearly: the offset applies to this year's anniversary (29 February falls on the 28th in
  // other years), or to a neighbouring year's when the offset crosses the new year.
  const sameDay = trigger.yearly
    ? [today.year - 1, today.year, today.year + 1].some((year) =>
        isToday(anniversaryIn(year, value) + trigger.offsetMs),
      )
    : isToday(value + trigger.offsetMs);
  if (!sameDay) return null;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${today.year}-${pad(today.month)}-${pad(today.day)}`;
}

/** The stored cursor of a run whose last page was counted (no contact id is empty). */
const PAGES_DONE = '';

/** What an audience run's enrollments name as their trigger event: the run. */
function runEvent(runId: string): string {
  return `run:${runId}`;
}
