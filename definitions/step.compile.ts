import { assertNever, type Action, type PlanStep } from '../core/index.js';
import { compileCondition } from './condition.compile.js';
import { parseField } from './field.js';
import type { StepDefinition } from './journey.schema.js';
import { minuteOfDay, ms, weekdayNumbers } from './time.compile.js';

const DEFAULT_RECHECK_MS = 3_600_000;

/** One validated step to its plan form, with `following` made explicit wherever implied. */
export function compileStep(
  step: StepDefinition,
  following: string | null,
  countsTowardCap: boolean,
  /** The journey's key: seeds its splits, so two journeys split a contact independently. */
  journeyKey: string,
): PlanStep {
  const next = 'next' in step ? (step.next ?? following) : following;
  switch (step.type) {
    case 'wait':
      return {
        type: 'wait',
        id: step.id,
        durationMs: ms(step.duration),
        jitterMs: ms(step.jitter),
        next,
      };
    case 'waitUntil':
      return {
        type: 'waitUntil',
        id: step.id,
        at: step.at === undefined ? null : Date.parse(step.at),
        field: step.field === undefined ? null : parseField(step.field),
        offsetMs: ms(step.offset),
        jitterMs: ms(step.jitter),
        next,
      };
    case 'waitForTime':
      return {
        type: 'waitForTime',
        id: step.id,
        minuteOfDay: minuteOfDay(step.time),
        weekdays: weekdayNumbers(step.weekdays),
        fallbackTimezone: step.fallbackTimezone ?? 'UTC',
        jitterMs: ms(step.jitter),
        next,
      };
    case 'waitForEvent':
      return {
        type: 'waitForEvent',
        id: step.id,
        event: step.event,
        filter: step.filter ? compileCondition(step.filter) : null,
        correlate: step.correlate ?? null,
        timeoutMs: ms(step.timeout),
        next,
        onTimeout: step.onTimeout ?? null,
      };
    case 'waitForCondition':
      return {
        type: 'waitForCondition',
        id: step.id,
        condition: compileCondition(step.condition),
        timeoutMs: ms(step.timeout),
        recheckMs: ms(step.recheckEvery, DEFAULT_RECHECK_MS),
        next,
        onTimeout: step.onTimeout ?? null,
      };
    case 'branch':
      return {
        type: 'branch',
        id: step.id,
        cases: step.cases.map((c, i) => ({
          name: c.name ?? `case ${i + 1}`,
          condition: compileCondition(c.condition),
          next: c.next,
        })),
        otherwise: step.else ?? following,
      };
    case 'split':
      return {
        type: 'split',
        id: step.id,
        arms: step.arms.map((a, i) => ({
          name: a.name ?? `arm ${i + 1}`,
          weight: a.weight,
          next: a.next,
        })),
        holdout: step.holdout ?? 0,
        seed: journeyKey,
      };
    case 'exit':
      return { type: 'exit', id: step.id, reason: step.reason ?? null };
    case 'sendEmail':
    case 'createTask':
    case 'updateContact':
    case 'updateTags':
    case 'updateLists':
    case 'adjustScore':
    case 'setLifecycleStage':
    case 'webhook':
    case 'enroll':
    case 'unenroll':
      return {
        type: 'action',
        id: step.id,
        action: compileAction(step, countsTowardCap),
        next,
        onFailure: step.onFailure ?? 'stop',
        routes:
          step.type === 'webhook'
            ? (step.onStatus ?? []).map((r) => ({ from: r.from, to: r.to, next: r.next }))
            : [],
      };
  }
}

type ActionDefinition = Exclude<StepDefinition, { type: PlanStep['type'] | 'split' }>;

function compileAction(step: ActionDefinition, countsTowardCap: boolean): Action {
  switch (step.type) {
    case 'sendEmail':
      return {
        type: 'sendEmail',
        template: step.template,
        subject: step.subject ?? null,
        from: step.from ?? null,
        replyTo: step.replyTo ?? null,
        category: step.category ?? null,
        countsTowardFrequencyCap: countsTowardCap,
      };
    case 'createTask':
      return {
        type: 'createTask',
        title: step.title,
        description: step.description ?? null,
        assignee:
          step.assignee.type === 'owner'
            ? { type: 'owner', fallbackTeam: step.assignee.fallbackTeam ?? null }
            : step.assignee,
        dueInMs: step.due === undefined ? null : ms(step.due),
        priority: step.priority ?? 'normal',
      };
    case 'updateContact':
      return { type: 'updateContact', changes: step.changes };
    case 'updateTags':
    case 'updateLists':
      return { type: step.type, add: step.add ?? [], remove: step.remove ?? [] };
    case 'adjustScore':
      return {
        type: 'adjustScore',
        score: step.score ?? 'lead',
        points: step.points,
        reason: step.reason ?? null,
      };
    case 'setLifecycleStage':
      return { type: 'setLifecycleStage', stage: step.stage };
    case 'webhook':
      return {
        type: 'webhook',
        url: step.url,
        method: step.method ?? 'POST',
        headers: step.headers ?? {},
        body: step.body ?? null,
      };
    case 'enroll':
    case 'unenroll':
      return { type: step.type, journey: step.journey };
    default:
      return assertNever(step, 'action');
  }
}
