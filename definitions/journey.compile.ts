import {
  PLAN_FORMAT,
  type EnrollmentRules,
  type Plan,
  type PlanCriterion,
  type PlanSettings,
  type PlanStep,
  type PlanTrigger,
} from '../core/index.js';
import { compileCondition } from './condition.compile.js';
import { parseField } from './field.js';
import { hashOf } from './hash.js';
import type { JourneyDefinition, TriggerDefinition } from './journey.schema.js';
import { compileStep } from './step.compile.js';
import { minuteOfDay, ms, weekdayNumbers } from './time.compile.js';

export { hashOf } from './hash.js';

/**
 * Compiles a validated journey into its plan: explicit next pointers, durations in ms, parsed
 * conditions and a content hash, so two publishes of the same definition give the same plan.
 * Only call it with a definition `validateJourney` accepted.
 */
export function compileJourney(journey: JourneyDefinition): Plan {
  const settings = compileSettings(journey);
  const steps: Record<string, PlanStep> = {};
  journey.steps.forEach((step, i) => {
    steps[step.id] = compileStep(
      step,
      journey.steps[i + 1]?.id ?? null,
      settings.countsTowardFrequencyCap,
      journey.id,
    );
  });
  const body = {
    format: PLAN_FORMAT,
    journeyKey: journey.id,
    name: journey.name,
    triggers: journey.triggers.map(compileTrigger),
    enrollment: compileEntry(journey),
    goals: (journey.goals ?? []).map(compileCriterion),
    exits: (journey.exits ?? []).map(compileCriterion),
    suppression: (journey.suppression ?? []).map(compileCondition),
    settings,
    entry: journey.steps[0]?.id ?? null,
    steps,
  };
  return { ...body, hash: hashOf(body) };
}

function compileTrigger(t: TriggerDefinition): PlanTrigger {
  const maybe = <T, R>(v: T | undefined, f: (v: T) => R): R | null =>
    v === undefined ? null : f(v);
  switch (t.type) {
    case 'event':
      return { type: 'event', event: t.event, filter: maybe(t.filter, compileCondition) };
    case 'condition':
      return { type: 'condition', condition: compileCondition(t.condition) };
    case 'lifecycleChange':
      return { type: 'lifecycleChange', from: t.from ?? null, to: t.to ?? null };
    case 'webhook':
      return { type: 'webhook', source: t.source, filter: maybe(t.filter, compileCondition) };
    case 'schedule':
      return {
        type: 'schedule',
        at: maybe(t.at, Date.parse),
        recurring: maybe(t.recurring, (r) => ({
          frequency: r.frequency,
          minuteOfDay: minuteOfDay(r.time),
          weekdays: weekdayNumbers(r.weekdays),
          dayOfMonth: r.dayOfMonth ?? null,
          timezone: r.timezone,
        })),
        audience: maybe(t.audience, compileCondition),
      };
    case 'date':
      return {
        type: 'date',
        attribute: { source: 'contact', path: [t.attribute] },
        offsetMs: ms(t.offset),
        yearly: t.yearly ?? false,
        minuteOfDay: t.time === undefined ? 9 * 60 : minuteOfDay(t.time),
        fallbackTimezone: t.fallbackTimezone ?? 'UTC',
        audience: maybe(t.audience, compileCondition),
      };
    case 'manual':
      return { type: 'manual' };
  }
}

function compileEntry(journey: JourneyDefinition): EnrollmentRules {
  const e = journey.entry ?? {};
  // A journey only dates start (a birthday, a renewal) enrolls a contact once per date, not once
  // ever: the date the run found due is the entry key unless the journey names its own.
  const dated = journey.triggers.length > 0 && journey.triggers.every((t) => t.type === 'date');
  return {
    reentry: e.reentry ?? 'once',
    coolDownMs: ms(e.coolDown),
    maxEntries: e.maxEntries ?? null,
    key: e.key !== undefined ? parseField(e.key) : dated ? parseField('trigger.date') : null,
    condition: e.condition ? compileCondition(e.condition) : null,
    enrollExisting: e.enrollExisting ?? false,
  };
}

function compileCriterion(c: NonNullable<JourneyDefinition['goals']>[number]): PlanCriterion {
  return c.type === 'event'
    ? {
        id: c.id,
        type: 'event',
        event: c.event,
        filter: c.filter ? compileCondition(c.filter) : null,
      }
    : { id: c.id, type: 'condition', condition: compileCondition(c.condition) };
}

function compileSettings(journey: JourneyDefinition): PlanSettings {
  const s = journey.settings ?? {};
  return {
    quietHours: s.quietHours
      ? { startMinute: minuteOfDay(s.quietHours.start), endMinute: minuteOfDay(s.quietHours.end) }
      : null,
    sendDays: weekdayNumbers(s.sendDays),
    fallbackTimezone: s.fallbackTimezone ?? 'UTC',
    countsTowardFrequencyCap: s.countsTowardFrequencyCap ?? true,
    rateLimit: s.rateLimit ? { count: s.rateLimit.count, perMs: ms(s.rateLimit.per) } : null,
    priority: s.priority ?? 'normal',
  };
}
