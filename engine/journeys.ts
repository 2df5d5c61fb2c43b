import type { Journey, JourneyVersion } from '@prisma/client';
import {
  compileJourney,
  validateJourney,
  type JourneyDefinition,
  type Problem,
  type ValidationContext,
} from '../definitions/index.js';
import { evaluate, type Plan, type PlanCondition, type PlanTrigger } from '../core/index.js';
import { STAGE_CHANGED_EVENT } from './stage-update.js';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { newId } from '../store/index.js';
import { toJson } from './json.js';
import { audienceWorkflow, publishRunId } from '../workflows/index.js';
import { syncJourneySchedules } from './schedules.js';
import { activeJourneys, invalidateJourneys } from './journey-catalog.js';
import { readStoredPlan } from './stored-plan.js';
import { assigneeDirectory } from './tasks/index.js';
import { attributeSchema } from './contacts/attribute-schema.js';
import type { EngineDeps } from './deps.js';

export type PublishResult =
  | {
      readonly ok: true;
      readonly journey: Journey;
      readonly version: JourneyVersion;
      readonly created: boolean;
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Validates and compiles a journey definition, then stores it as a new immutable version:
 * published at once (the journey becomes active; a paused one stays paused) or, with
 * `draft`, kept unpublished until `publishDraft`. A definition whose plan hash equals the
 * latest version's makes no new version (a publish of an identical draft publishes that
 * draft), unless that version's stored plan cannot be read. Nothing is stored when validation
 * fails.
 */
export async function publishJourney(
  deps: EngineDeps,
  workspaceId: string,
  document: unknown,
  options: {
    readonly draft?: boolean;
    /** Keys of journeys published in the same deploy, which enroll steps may name. */
    readonly deploying?: readonly string[];
  } = {},
): Promise<PublishResult> {
  const context = await validationContext(
    deps,
    workspaceId,
    [...(options.deploying ?? []), ...keyOf(document)],
    { draft: options.draft === true },
  );
  const validated = validateJourney(document, context);
  if (!validated.ok) return validated;
  const definition: JourneyDefinition = validated.value;
  const plan = compileJourney(definition);
  const draft = options.draft === true;

  const result = await deps.prisma.$transaction(async (tx) => {
    const existing = await tx.journey.findUnique({
      where: { workspaceId_key: { workspaceId, key: definition.id } },
      select: { status: true },
    });
    const status = draft
      ? (existing?.status ?? 'draft')
      : existing?.status === 'paused'
        ? 'paused'
        : 'active';
    const journey = await tx.journey.upsert({
      where: { workspaceId_key: { workspaceId, key: definition.id } },
      create: { id: newId(), workspaceId, key: definition.id, name: definition.name, status },
      update: { name: definition.name, status },
    });
    const latest = await tx.journeyVersion.findFirst({
      where: { journeyId: journey.id },
      orderBy: { version: 'desc' },
    });
    // An unreadable latest version (an older format) is replaced even when the hash matches.
    if (latest && latest.hash === plan.hash && readStoredPlan(latest.plan).ok) {
      if (draft || latest.publishedAt)
        return { ok: true as const, journey, version: latest, created: false };
      const version = await tx.journeyVersion.update({
        where: { id: latest.id },
        data: { publishedAt: new Date() },
      });
      return { ok: true as const, journey, version, created: true };
    }
    const version = await tx.journeyVersion.create({
      data: {
        id: newId(),
        journeyId: journey.id,
        version: (latest?.version ?? 0) + 1,
        hash: plan.hash,
        definition: toJson(definition),
        plan: toJson(plan),
        publishedAt: draft ? null : new Date(),
      },
    });
    return { ok: true as const, journey, version, created: true };
  });
  if (draft) return result;
  invalidateJourneys(deps.prisma, workspaceId);
  await afterPublish(deps, result.journey, result.version.id, plan, result.created);
  return result;
}

/**
 * Whether a template a journey names exists for the workspace: a template file, or one the
 * workspace stored through the API (read from the database, so one stored through another
 * process counts, and another workspace's does not).
 */
export async function templateExistence(
  deps: Pick<EngineDeps, 'prisma' | 'templates'>,
  workspaceId: string,
): Promise<(name: string) => boolean> {
  const stored = await deps.prisma.emailTemplate.findMany({
    where: { workspaceId },
    select: { name: true },
  });
  const names = new Set(stored.map((t) => t.name));
  return (name) => deps.templates.has(name) || names.has(name);
}

/**
 * The workspace's declared contact attributes as validation types them, so conditions, date
 * triggers and waits on them are checked at publish: `equals "5"` on a number attribute never
 * matches the stored 5, and a date trigger on a text attribute never fires. Under the
 * `store` policy an undeclared name may still be a contact's attribute, so only declared ones
 * are checked; under `reject` an undeclared name is a problem.
 */
export async function attributeContext(
  deps: Pick<EngineDeps, 'prisma'>,
  workspaceId: string,
): Promise<Pick<ValidationContext, 'contactAttributes' | 'unknownAttributes'>> {
  const schema = await attributeSchema(deps.prisma, workspaceId);
  const types: Record<string, NonNullable<ValidationContext['contactAttributes']>[string]> = {};
  for (const [key, definition] of schema.definitions) {
    types[key] =
      definition.type === 'number' ||
      definition.type === 'boolean' ||
      definition.type === 'date' ||
      definition.type === 'list'
        ? definition.type
        : 'string';
  }
  return { contactAttributes: types, unknownAttributes: schema.unknownAttributes };
}

/**
 * What validation checks references against: the templates, the journeys of the workspace and
 * which of them are archived or only drafts, and its teams and users that `createTask` steps
 * assign to. `publishing` are the keys about to be published (the journey itself, which may
 * name itself to re-enroll, and the others of a deploy): they count as existing and published,
 * since publishing makes them so. Saving a `draft` may name journeys that are drafts too.
 */
export async function validationContext(
  deps: EngineDeps,
  workspaceId: string,
  publishing: readonly string[],
  options: { readonly draft?: boolean } = {},
): Promise<ValidationContext> {
  const journeys = await deps.prisma.journey.findMany({
    where: { workspaceId },
    select: { key: true, status: true },
  });
  const statuses = new Map(journeys.map((j) => [j.key, j.status]));
  for (const key of publishing) statuses.set(key, 'published now');
  return {
    templateExists: await templateExistence(deps, workspaceId),
    ...(await attributeContext(deps, workspaceId)),
    journeyExists: (key) => statuses.has(key),
    journeyArchived: (key) => statuses.get(key) === 'archived',
    ...(options.draft ? {} : { journeyUnpublished: (key) => statuses.get(key) === 'draft' }),
    ...(await assigneeDirectory(deps.prisma, workspaceId)),
  };
}

/** The journey key a document gives, if it gives one. */
export function keyOf(document: unknown): string[] {
  return typeof document === 'object' &&
    document !== null &&
    'id' in document &&
    typeof document.id === 'string'
    ? [document.id]
    : [];
}

export type PublishDraftResult =
  | { readonly ok: true; readonly journey: Journey; readonly version: JourneyVersion }
  | { readonly ok: false; readonly reason: 'not-found' | 'no-draft' }
  | { readonly ok: false; readonly reason: 'invalid'; readonly problems: readonly Problem[] };

/**
 * Publishes a journey's latest draft version. The draft is validated again against the
 * workspace as it is now, as `publishJourney` would validate it, since what it names may have
 * gone since it was saved (a journey it enrolls into archived, a team or template removed);
 * with problems nothing is published.
 */
export async function publishDraft(
  deps: EngineDeps,
  workspaceId: string,
  key: string,
): Promise<PublishDraftResult> {
  const journey = await deps.prisma.journey.findUnique({
    where: { workspaceId_key: { workspaceId, key } },
  });
  if (!journey) return { ok: false, reason: 'not-found' };
  const latest = await deps.prisma.journeyVersion.findFirst({
    where: { journeyId: journey.id },
    orderBy: { version: 'desc' },
  });
  if (!latest || latest.publishedAt) return { ok: false, reason: 'no-draft' };
  const context = await validationContext(deps, workspaceId, [key]);
  const validated = validateJourney(latest.definition, context);
  if (!validated.ok) return { ok: false, reason: 'invalid', problems: validated.problems };
  const status = journey.status === 'paused' ? 'paused' : 'active';
  const [updated, version] = await deps.prisma.$transaction([
    deps.prisma.journey.update({ where: { id: journey.id }, data: { status } }),
    deps.prisma.journeyVersion.update({
      where: { id: latest.id },
      data: { publishedAt: new Date() },
    }),
  ]);
  invalidateJourneys(deps.prisma, workspaceId);
  await afterPublish(deps, updated, version.id, planOf(version), true);
  return { ok: true, journey: updated, version };
}

/**
 * Time-based triggers get their schedules. A pass over the audience enrolls the contacts who
 * already match (`enrollExisting`); with a condition trigger it runs either way and notes who
 * matches already, so that only contacts who start to match later enter.
 */
async function afterPublish(
  deps: EngineDeps,
  journey: Journey,
  versionId: string,
  plan: Plan,
  created: boolean,
): Promise<void> {
  await syncJourneySchedules(deps, journey, versionId, plan);
  const existing =
    plan.enrollment.enrollExisting || plan.triggers.some((t) => t.type === 'condition');
  // A paused journey gets its pass too: it waits until the journey is resumed (enrollAudiencePage).
  if (!existing || journey.status === 'archived') return;
  const workflowId = publishRunId(journey.id, versionId);
  // Publishing the same version again starts its pass only if none ever ran: the publish that
  // made the version committed it and then failed to start the pass (Temporal unavailable),
  // and the client's retry is what finishes the publish. A pass that ran is never repeated.
  if (!created && (await deps.prisma.audienceRun.findUnique({ where: { id: workflowId } }))) return;
  await deps.temporal.workflow
    .start(audienceWorkflow, {
      workflowId,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      taskQueue: deps.taskQueue,
      args: [
        {
          workspaceId: journey.workspaceId,
          journeyId: journey.id,
          reason: 'publish',
          triggerIndex: null,
        },
      ],
    })
    .catch((error: unknown) => {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    });
}

/** A published journey version that an event starts. */
export interface TriggeredJourney {
  readonly journeyId: string;
  readonly versionId: string;
  readonly plan: Plan;
}

/**
 * Active journeys whose latest version is triggered by this event: its name matches an event
 * trigger, or it came from an inbound webhook source a webhook trigger names (see
 * `WEBHOOK_SOURCE_PROPERTY`), and the trigger's property filter (if any) holds for the event's
 * properties.
 */
export async function journeysTriggeredBy(
  deps: EngineDeps,
  workspaceId: string,
  event: { readonly name: string; readonly properties: Readonly<Record<string, unknown>> },
  now = Date.now(),
): Promise<TriggeredJourney[]> {
  const journeys = await activeJourneys(deps.prisma, workspaceId, now);
  return journeys.flatMap(({ journeyId, versionId, plan }) =>
    startsOn(plan, event, now) ? [{ journeyId, versionId, plan }] : [],
  );
}

/** Whether some trigger of the plan starts on this event (as {@link journeysTriggeredBy} asks). */
export function startsOn(
  plan: Plan,
  event: { readonly name: string; readonly properties: Readonly<Record<string, unknown>> },
  now: number,
): boolean {
  const source = webhookSourceOf(event.properties);
  return plan.triggers.some((t) => triggerFires(t, event, source, now));
}

function triggerFires(
  trigger: PlanTrigger,
  event: { readonly name: string; readonly properties: Readonly<Record<string, unknown>> },
  /** The webhook source the event came from (`webhookSourceOf`), or null. */
  source: string | null,
  now: number,
): boolean {
  const filterHolds = (filter: PlanCondition | null) =>
    !filter ||
    evaluate(filter, { contact: {}, event: event.properties, trigger: event.properties }, now);
  switch (trigger.type) {
    case 'event':
      return trigger.event === event.name && filterHolds(trigger.filter);
    case 'lifecycleChange':
      return (
        event.name === STAGE_CHANGED_EVENT &&
        (trigger.from === null || trigger.from === event.properties.from) &&
        (trigger.to === null || trigger.to === event.properties.to)
      );
    case 'webhook':
      return source !== null && sourceKey(trigger.source) === source && filterHolds(trigger.filter);
    case 'condition':
    case 'date':
    case 'manual':
    case 'schedule':
      return false;
  }
}

/**
 * The reserved event property that says which inbound webhook source an event came from: the
 * source's name, which `webhook` triggers name. The hooks router sets it on the events of every
 * call, over anything the source's mapping puts there.
 */
export const WEBHOOK_SOURCE_PROPERTY = '$webhookSource';

/** The webhook source an event came from, as triggers compare it; null for any other event. */
export function webhookSourceOf(properties: Readonly<Record<string, unknown>>): string | null {
  const source = properties[WEBHOOK_SOURCE_PROPERTY];
  return typeof source === 'string' ? sourceKey(source) : null;
}

/** Source names are compared without regard to case or surrounding spaces (`Stripe`, `stripe`). */
function sourceKey(name: string): string {
  return name.trim().toLowerCase();
}

/** Whether any active journey of the workspace has a condition trigger (so facts are worth loading). */
export async function hasConditionTriggers(
  deps: Pick<EngineDeps, 'prisma'>,
  workspaceId: string,
  now = Date.now(),
): Promise<boolean> {
  return (await journeyInterest(deps, workspaceId, now)).conditions;
}

/**
 * The event name a trigger starts on, or null for triggers that no event name starts (a
 * `webhook` trigger starts on any event of its source, whatever its name).
 */
export function triggerEventName(trigger: PlanTrigger): string | null {
  switch (trigger.type) {
    case 'event':
      return trigger.event;
    case 'lifecycleChange':
      return STAGE_CHANGED_EVENT;
    case 'condition':
    case 'date':
    case 'manual':
    case 'schedule':
    case 'webhook':
      return null;
  }
}

/** What the workspace's active journeys trigger on, as routing decides which events matter. */
export interface JourneyInterest {
  /** Some active journey has a condition trigger: every contact's events may start it. */
  readonly conditions: boolean;
  /** Event names that trigger active journeys. */
  readonly events: ReadonlySet<string>;
  /** Webhook sources (as `webhookSourceOf` gives them) whose events trigger active journeys. */
  readonly webhookSources: ReadonlySet<string>;
}

export async function journeyInterest(
  deps: Pick<EngineDeps, 'prisma'>,
  workspaceId: string,
  now = Date.now(),
): Promise<JourneyInterest> {
  const triggers = (await activeJourneys(deps.prisma, workspaceId, now)).flatMap(
    ({ plan }) => plan.triggers,
  );
  return {
    conditions: triggers.some((t) => t.type === 'condition'),
    events: new Set(triggers.flatMap((t) => triggerEventName(t) ?? [])),
    webhookSources: new Set(
      triggers.flatMap((t) => (t.type === 'webhook' ? [sourceKey(t.source)] : [])),
    ),
  };
}

/**
 * Reads a stored plan. Plans are written only by `publishJourney` from the compiler's output,
 * so the stored JSON is trusted here rather than validated again on every event.
 */
export function planOf(version: JourneyVersion): Plan {
  return version.plan as unknown as Plan;
}
