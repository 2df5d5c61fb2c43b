import type { Prisma, PrismaClient } from '@prisma/client';
import { PLAN_FORMAT, type Plan } from '../core/index.js';
import { isRecord } from './contact-view.js';

export type StoredPlan =
  { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly detail: string };

/**
 * Reads a plan as stored with a journey version. This Drumbeat's compiler wrote it, unless an
 * older (or newer) Drumbeat did or someone edited the row: so the format must be this one's, and
 * the parts read on every event — the triggers with their filters, the entry rules — must have
 * the shape routing expects. Steps are the workflow's business and are not walked here: a plan
 * of this format with the right top-level shape came from the compiler. `detail` says what is
 * wrong, for the operator's log and the journey's page.
 */
export function readStoredPlan(stored: unknown): StoredPlan {
  if (!isRecord(stored)) return { ok: false, detail: 'the stored plan is not a JSON object' };
  const format = stored.format;
  if (format !== PLAN_FORMAT)
    return {
      ok: false,
      detail: `plan format ${String(format)}; this Drumbeat reads format ${PLAN_FORMAT}`,
    };
  if (!isPlan(stored)) return { ok: false, detail: 'the stored plan is damaged' };
  return { ok: true, plan: stored };
}

/** A stored version this Drumbeat cannot read: which one, and what is wrong with it. */
export interface UnreadableVersion {
  readonly version: number;
  readonly detail: string;
}

export type VersionPlan =
  | { readonly ok: true; readonly plan: Plan }
  | { readonly ok: false; readonly unreadable: UnreadableVersion };

/**
 * The plan of a stored version, for the paths that act on a journey's latest version (checking
 * who may enter it, changing its status, enrolling into it from a step); when it cannot be read,
 * which version and why, for the answer they give instead.
 */
export function readVersionPlan(version: {
  readonly version: number;
  readonly plan: unknown;
}): VersionPlan {
  const read = readStoredPlan(version.plan);
  return read.ok
    ? read
    : { ok: false, unreadable: { version: version.version, detail: read.detail } };
}

function isPlan(value: Record<string, unknown>): value is Record<string, unknown> & Plan {
  const { enrollment } = value;
  return (
    typeof value.journeyKey === 'string' &&
    typeof value.hash === 'string' &&
    Array.isArray(value.triggers) &&
    value.triggers.every(isTrigger) &&
    isRecord(enrollment) &&
    typeof enrollment.reentry === 'string' &&
    isOptionalCondition(enrollment.condition) &&
    [value.goals, value.exits, value.suppression].every(Array.isArray) &&
    isRecord(value.settings) &&
    isRecord(value.steps) &&
    (value.entry === null || typeof value.entry === 'string')
  );
}

function isTrigger(trigger: unknown): boolean {
  if (!isRecord(trigger)) return false;
  switch (trigger.type) {
    case 'event':
      return typeof trigger.event === 'string' && isOptionalCondition(trigger.filter);
    case 'webhook':
      return typeof trigger.source === 'string' && isOptionalCondition(trigger.filter);
    case 'condition':
      return isCondition(trigger.condition);
    case 'lifecycleChange':
      return isOptionalString(trigger.from) && isOptionalString(trigger.to);
    case 'schedule':
      return isOptionalCondition(trigger.audience);
    case 'date':
      return isField(trigger.attribute) && isOptionalCondition(trigger.audience);
    case 'manual':
      return true;
    default:
      return false;
  }
}

function isCondition(condition: unknown): boolean {
  if (!isRecord(condition)) return false;
  switch (condition.type) {
    case 'all':
    case 'any':
      return Array.isArray(condition.conditions) && condition.conditions.every(isCondition);
    case 'not':
      return isCondition(condition.condition);
    case 'equals':
    case 'notEquals':
    case 'contains':
    case 'exists':
    case 'compare':
    case 'relativeDate':
      return isField(condition.field);
    case 'in':
      return isField(condition.field) && Array.isArray(condition.values);
    case 'emailActivity':
      return typeof condition.stepId === 'string' && typeof condition.activity === 'string';
    default:
      return false;
  }
}

function isOptionalCondition(condition: unknown): boolean {
  return condition === null || isCondition(condition);
}

function isField(field: unknown): boolean {
  return (
    isRecord(field) &&
    typeof field.source === 'string' &&
    Array.isArray(field.path) &&
    field.path.every((p) => typeof p === 'string')
  );
}

function isOptionalString(value: unknown): boolean {
  return value === null || typeof value === 'string';
}

/**
 * A journey, by id or by workspace and key, with its latest published version (`latest`
 * undefined while it has none): what enrolling, audience runs and eligibility act on.
 */
export async function journeyWithLatest(
  prisma: PrismaClient,
  where: Prisma.JourneyWhereUniqueInput,
) {
  const journey = await prisma.journey.findUnique({
    where,
    include: {
      versions: { where: { publishedAt: { not: null } }, orderBy: { version: 'desc' }, take: 1 },
    },
  });
  return journey ? { journey, latest: journey.versions[0] } : null;
}
