import { assertNever } from './assert-never.js';
import type { Input } from './enrollment.js';
import { evaluate, keyOf, readField, toEpoch } from './evaluate.js';
import type { EventFacts } from './facts.js';
import { hashUnit } from './hash.js';
import type { WaitForConditionStep, WaitForEventStep, WaitStep } from './plan.js';
import {
  CONTINUE,
  emit,
  factsFor,
  goto,
  NEED_FACTS,
  waitUntil,
  type StepContext,
  type StepResult,
} from './step-context.js';
import { nextLocalTime, zoneOf } from './zoned-time.js';

/**
 * Wait steps: the enrollment sleeps until a timer, an event or a condition moves it on. The
 * deadline is fixed on entry, so a timer that the shell fires early only re-arms the wait.
 */
export function enterWait(step: WaitStep, ctx: StepContext): StepResult {
  switch (step.type) {
    case 'wait': {
      const until = ctx.now + step.durationMs + jitter(step.jitterMs, ctx);
      return waitUntil(ctx, until, until);
    }
    case 'waitUntil': {
      let base = step.at;
      if (step.field) {
        const facts = ctx.facts ?? (step.field.source === 'trigger' ? { contact: {} } : null);
        if (!facts) return NEED_FACTS;
        const date = toEpoch(
          readField(step.field, { ...facts, trigger: ctx.state.trigger?.properties ?? {} }),
        );
        // Without a usable date there is nothing to wait for: move on rather than hang.
        if (date === undefined) return goto(step.next);
        base = date;
      }
      const until = (base ?? ctx.now) + step.offsetMs;
      if (until <= ctx.now) return goto(step.next);
      const jittered = until + jitter(step.jitterMs, ctx);
      return waitUntil(ctx, jittered, jittered);
    }
    case 'waitForTime': {
      if (!ctx.facts) return NEED_FACTS;
      const zone = zoneOf(ctx.facts.contact.timezone, step.fallbackTimezone);
      const stepId = ctx.state.stepId ?? '';
      // Entered on the minute itself, the enrollment goes on at once; back on the minute it has
      // just taken (a loop with nothing in between that takes time), it waits for the next one.
      let at = nextLocalTime(ctx.now, zone, step.minuteOfDay, step.weekdays, true);
      if (at === ctx.state.slots?.[stepId])
        at = nextLocalTime(ctx.now, zone, step.minuteOfDay, step.weekdays, false);
      const until = at + jitter(step.jitterMs, ctx);
      const state = { ...ctx.state, slots: { ...ctx.state.slots, [stepId]: at } };
      if (until <= ctx.now) return { kind: 'goto', stepId: step.next, state };
      return waitUntil({ ...ctx, state }, until, until);
    }
    case 'waitForEvent': {
      const deadline = ctx.now + step.timeoutMs;
      return waitUntil(ctx, deadline, deadline);
    }
    case 'waitForCondition':
      return checkCondition(step, ctx, ctx.now + step.timeoutMs, true);
    default:
      return assertNever(step, 'wait step');
  }
}

export function resumeWait(step: WaitStep, input: Input, ctx: StepContext): StepResult {
  switch (input.type) {
    case 'timerFired':
      return onTimer(step, ctx);
    case 'event':
      return onEvent(step, input.event, ctx);
    case 'start':
    case 'actionDone':
    case 'actionFailed':
    case 'facts':
      return emit(ctx.state, CONTINUE);
    default:
      return assertNever(input, 'input');
  }
}

function onTimer(step: WaitStep, ctx: StepContext): StepResult {
  const deadline = ctx.state.deadline ?? ctx.now;
  if (step.type === 'waitForCondition') return checkCondition(step, ctx, deadline, false);
  if (ctx.now < deadline) return waitUntil(ctx, ctx.state.wakeAt ?? deadline, deadline);
  return goto(step.type === 'waitForEvent' ? step.onTimeout : step.next);
}

function onEvent(step: WaitStep, event: EventFacts, ctx: StepContext): StepResult {
  if (step.type === 'waitForEvent') {
    if (event.name !== step.event || !correlated(step, event, ctx))
      return emit(ctx.state, CONTINUE);
    if (!step.filter) return goto(step.next);
    const facts = factsFor(ctx, step.filter, event);
    if (!facts) return NEED_FACTS;
    return evaluate(step.filter, facts, ctx.now) ? goto(step.next) : emit(ctx.state, CONTINUE);
  }
  if (step.type === 'waitForCondition') {
    const facts = factsFor(ctx, step.condition);
    if (!facts) return NEED_FACTS;
    return evaluate(step.condition, facts, ctx.now) ? goto(step.next) : emit(ctx.state, CONTINUE);
  }
  return emit(ctx.state, CONTINUE);
}

/** True now: go on. Past the deadline: the timeout path. Else look again after `recheckMs`. */
function checkCondition(
  step: WaitForConditionStep,
  ctx: StepContext,
  deadline: number,
  entering: boolean,
): StepResult {
  const facts = factsFor(ctx, step.condition);
  if (!facts) return NEED_FACTS;
  if (evaluate(step.condition, facts, ctx.now)) return goto(step.next);
  if (!entering && ctx.now >= deadline) return goto(step.onTimeout);
  return waitUntil(ctx, Math.min(deadline, ctx.now + step.recheckMs), deadline);
}

function correlated(step: WaitForEventStep, event: EventFacts, ctx: StepContext): boolean {
  if (step.correlate === null) return true;
  const value = Object.hasOwn(event.properties, step.correlate)
    ? event.properties[step.correlate]
    : undefined;
  return keyOf(value) !== null && keyOf(value) === ctx.state.entryKey;
}

/** A stable spread in [0, jitterMs): the same contact, step and pass always get the same. */
function jitter(jitterMs: number, ctx: StepContext): number {
  if (jitterMs <= 0) return 0;
  const stepId = ctx.state.stepId ?? '';
  const pass = ctx.state.visits[stepId] ?? 1;
  return Math.floor(hashUnit(`${ctx.state.contactId}:${stepId}:${pass}`) * jitterMs);
}
