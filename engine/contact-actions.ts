import Handlebars from 'handlebars';
import type { Action, ContactChange } from '../core/index.js';
import { isUniqueViolation, newId } from '../store/index.js';
import { contactView, isRecord } from './contact-view.js';
import type { EngineDeps } from './deps.js';
import { enroll, enrollmentsMadeBy, type EnrollOutcome } from './enroll.js';
import { routeChanges } from './route-stored.js';
import { journeyInterest } from './journeys.js';
import { RUNNING_STATUSES, signalEnrollment } from './signal.js';
import { journeyWithLatest, readVersionPlan } from './stored-plan.js';
import { toJson } from './json.js';
import { lockContact, recordChange } from './contacts/changes.js';
import { storeChangeEvent } from './contacts/change-event.js';
import { changeListsInTx } from './contacts/lists.js';
import { tagsOf } from './contacts/tags.js';
import { STAGE_CHANGED_EVENT } from './stage-update.js';
import { exitSignal } from '../workflows/index.js';

export type ContactAction = Extract<
  Action,
  {
    type:
      | 'updateContact'
      | 'updateTags'
      | 'updateLists'
      | 'adjustScore'
      | 'setLifecycleStage'
      | 'enroll'
      | 'unenroll';
  }
>;

export interface ContactActionRequest {
  /** (enrollment, step, iteration): the change is applied once under this key. */
  readonly key: string;
  readonly enrollmentId: string;
  readonly stepId: string;
  readonly workspaceId: string;
  readonly contactId: string;
  readonly action: ContactAction;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

export type ContactActionResult =
  | { readonly applied: boolean; readonly detail?: Readonly<Record<string, unknown>> }
  | { readonly applied: false; readonly error: ContactActionError };

/** Why an action cannot be done at all; `journey-unreadable`: its latest plan cannot be read. */
export type ContactActionError = 'contact-not-found' | 'journey-not-found' | 'journey-unreadable';

/**
 * Journey actions that change the contact (attributes, tags, lists, manual score points,
 * lifecycle stage) or its journeys (enroll in another, remove from one). Store changes are
 * made in one transaction with the side-effect record, so a retried step changes nothing
 * twice; a stage change is stored as a `lifecycle_stage_changed` event and routed like any.
 */
export async function applyContactAction(
  deps: EngineDeps,
  request: ContactActionRequest,
): Promise<ContactActionResult> {
  const { action } = request;
  if (action.type === 'enroll' || action.type === 'unenroll')
    return journeyAction(deps, request, action);
  const done = await deps.prisma.sideEffect.findUnique({ where: { key: request.key } });
  if (done?.status === 'done') return { applied: false, detail: { alreadyApplied: true } };
  // Events to route once the change has committed: a stage move, and the change itself.
  const toRoute: string[] = [];
  const interest = await journeyInterest(deps, request.workspaceId);
  try {
    const outcome = await deps.prisma.$transaction(async (tx) => {
      // Locked: tags and lists changed through the API at the same time queue up behind this.
      await lockContact(tx, request.contactId);
      const contact = await tx.contact.findFirst({
        where: { id: request.contactId, workspaceId: request.workspaceId },
      });
      if (!contact) return null;
      const original = isRecord(contact.attributes) ? contact.attributes : {};
      const attributes: Record<string, unknown> = { ...original };
      const before = attributes.lifecycleStage;
      const tagsBefore = tagsOf(attributes.tags);
      change(attributes, action, { contact: contactView(contact), event: request.trigger });
      await tx.contact.update({
        where: { id: contact.id },
        data: { attributes: toJson(attributes) },
      });
      const source = `journey step ${request.stepId}`;
      if (action.type === 'updateTags')
        await recordChange(tx, {
          workspaceId: request.workspaceId,
          contactId: contact.id,
          attribute: 'tags',
          before: tagsBefore,
          after: tagsOf(attributes.tags),
          source,
        });
      // Lists are memberships (the copy in attributes.lists follows); a new name makes a list.
      if (action.type === 'updateLists') {
        const { event } = await changeListsInTx(
          tx,
          request.workspaceId,
          contact.id,
          action,
          source,
          {
            createMissing: true,
            enrollmentId: request.enrollmentId,
            interest,
          },
        );
        if (event) toRoute.push(event);
      }
      // Other journeys of the contact hear of the change (a stage move has its own event).
      const changed = action.type === 'setLifecycleStage' ? [] : changedKeys(original, attributes);
      const announced =
        changed.length === 0
          ? null
          : await storeChangeEvent(
              tx,
              {
                workspaceId: request.workspaceId,
                contactId: contact.id,
                attributes: changed,
                source,
                enrollmentId: request.enrollmentId,
              },
              interest,
            );
      if (announced) toRoute.push(announced);
      if (action.type === 'setLifecycleStage' && before !== action.stage) {
        const event = await tx.event.create({
          data: {
            id: newId(),
            workspaceId: request.workspaceId,
            messageId: `effect:${request.key}`,
            type: 'track',
            name: STAGE_CHANGED_EVENT,
            contactId: contact.id,
            userId: contact.userId,
            properties: {
              from: typeof before === 'string' ? before : null,
              to: action.stage,
              source: `journey step ${request.stepId}`,
            },
            timestamp: new Date(),
          },
        });
        toRoute.push(event.id);
        // The models' copy of the stage follows, as an identify's does (apply-identify.ts).
        await tx.contactScore.updateMany({
          where: { contactId: contact.id },
          data: { stage: action.stage },
        });
      }
      await tx.sideEffect.create({
        data: {
          key: request.key,
          enrollmentId: request.enrollmentId,
          stepId: request.stepId,
          kind: action.type,
          status: 'done',
          result: action.type === 'adjustScore' ? adjustmentRecord(action, attributes) : {},
        },
      });
      return contact.id;
    });
    if (!outcome) return { applied: false, error: 'contact-not-found' };
  } catch (error) {
    // Another attempt of the same step got there first.
    if (isUniqueViolation(error)) return { applied: false, detail: { alreadyApplied: true } };
    throw error;
  }
  // The change is made: a routing failure is logged and left to the routing sweep, rather than
  // failing the step, whose retry would find it applied and route nothing.
  if (toRoute.length > 0) await routeChanges(deps, toRoute);
  return { applied: true };
}

/**
 * What an `adjustScore` step did, kept on its side-effect record: the score's adjustments list
 * them with the step's reason (GET /v1/contacts/:id/score, `adjustmentLog`).
 */
function adjustmentRecord(
  action: Extract<ContactAction, { type: 'adjustScore' }>,
  attributes: Readonly<Record<string, unknown>>,
): { score: string; points: number; reason: string | null; total: number } {
  const scores = isRecord(attributes.scores) ? attributes.scores : {};
  const total = scores[action.score];
  return {
    score: action.score,
    points: action.points,
    reason: action.reason,
    total: typeof total === 'number' ? total : action.points,
  };
}

/** The attributes whose values differ between two versions of a contact's attributes. */
function changedKeys(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}

function change(
  attributes: Record<string, unknown>,
  action: ContactAction,
  data: Record<string, unknown>,
): void {
  switch (action.type) {
    case 'updateContact':
      for (const c of action.changes) applyChange(attributes, c, data);
      return;
    case 'updateTags': {
      const current = tagsOf(attributes.tags);
      attributes.tags = [
        ...new Set([...current.filter((v) => !action.remove.includes(v)), ...action.add]),
      ];
      return;
    }
    case 'updateLists':
      return; // memberships, written by changeListsInTx

    case 'adjustScore': {
      const scores = isRecord(attributes.scores) ? { ...attributes.scores } : {};
      const now = typeof scores[action.score] === 'number' ? scores[action.score] : 0;
      scores[action.score] = (now as number) + action.points;
      attributes.scores = scores;
      return;
    }
    case 'setLifecycleStage':
      attributes.lifecycleStage = action.stage;
      return;
    case 'enroll':
    case 'unenroll':
      return;
  }
}

function applyChange(
  attributes: Record<string, unknown>,
  c: ContactChange,
  data: Record<string, unknown>,
): void {
  switch (c.type) {
    case 'set':
      // Text values may be templates: "{{event.properties.plan}}".
      attributes[c.attribute] =
        typeof c.value === 'string' && c.value.includes('{{')
          ? Handlebars.compile(c.value, { noEscape: true })(data)
          : c.value;
      return;
    case 'increment': {
      const current = attributes[c.attribute];
      attributes[c.attribute] = (typeof current === 'number' ? current : 0) + c.by;
      return;
    }
    case 'unset':
      delete attributes[c.attribute];
      return;
  }
}

async function journeyAction(
  deps: EngineDeps,
  request: ContactActionRequest,
  action: Extract<ContactAction, { type: 'enroll' | 'unenroll' }>,
): Promise<ContactActionResult> {
  const found = await journeyWithLatest(deps.prisma, {
    workspaceId_key: { workspaceId: request.workspaceId, key: action.journey },
  });
  if (!found?.latest) return { applied: false, error: 'journey-not-found' };
  const { journey, latest } = found;
  if (action.type === 'enroll') {
    const read = readVersionPlan(latest);
    if (!read.ok) return { applied: false, error: 'journey-unreadable' };
    // The step's key stands for the trigger event: an event enrolls a contact in a journey once
    // (engine/enroll.ts), so a retried step (its first attempt enrolled and then failed, or the
    // worker died) finds that enrollment instead of making a second entry where re-entry
    // allows one (`everyTime`, or after the first ended), which would mail everything twice.
    const stepEvent = `step:${request.key}`;
    const outcome: EnrollOutcome = await enroll(deps, {
      workspaceId: request.workspaceId,
      journeyId: journey.id,
      journeyVersionId: latest.id,
      plan: read.plan,
      contactId: request.contactId,
      trigger: {
        eventId: stepEvent,
        name: request.trigger.name ?? '$journey',
        properties: request.trigger.properties,
      },
    });
    if (!outcome.enrolled) {
      // This step's own enrollment, made by an earlier attempt: applied, as it was then.
      const [earlier] = await enrollmentsMadeBy(deps, stepEvent, [request.contactId]);
      if (earlier) return { applied: true, detail: { enrolled: true, enrollmentId: earlier } };
    }
    return { applied: outcome.enrolled, detail: { ...outcome } };
  }
  const running = await deps.prisma.enrollment.findMany({
    where: {
      contactId: request.contactId,
      journeyVersion: { journeyId: journey.id },
      status: { in: [...RUNNING_STATUSES] },
    },
    select: { id: true },
  });
  for (const { id } of running) {
    await signalEnrollment(deps.temporal, id, exitSignal, {
      reason: `removed by ${request.enrollmentId}`,
    });
  }
  return { applied: running.length > 0, detail: { removed: running.length } };
}
