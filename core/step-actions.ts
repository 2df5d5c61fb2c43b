import { assertNever } from './assert-never.js';
import type { Input } from './enrollment.js';
import type { ActionStep } from './plan.js';
import { nextSendTime } from './send-window.js';
import {
  CONTINUE,
  emit,
  finish,
  goto,
  NEED_FACTS,
  waitUntil,
  type StepContext,
  type StepResult,
} from './step-context.js';
import { zoneOf } from './zoned-time.js';

/**
 * Action steps hand one side effect to the shell and move on when it reports back. Emails
 * outside the journey's send window (quiet hours, send days) wait for the window first.
 */
export function enterAction(step: ActionStep, ctx: StepContext): StepResult {
  const { settings } = ctx.plan;
  if (step.action.type === 'sendEmail' && (settings.quietHours || settings.sendDays.length > 0)) {
    if (!ctx.facts) return NEED_FACTS;
    const zone = zoneOf(ctx.facts.contact.timezone, settings.fallbackTimezone);
    const at = nextSendTime(ctx.now, zone, settings);
    if (at > ctx.now) return waitUntil(ctx, at, at);
  }
  const iteration = ctx.state.visits[step.id] ?? 1;
  return emit(
    { ...ctx.state, status: 'active', wakeAt: null, deadline: null },
    { type: 'perform', stepId: step.id, iteration, action: step.action },
  );
}

export function resumeAction(step: ActionStep, input: Input, ctx: StepContext): StepResult {
  switch (input.type) {
    case 'actionDone': {
      if (input.stepId !== step.id) return emit(ctx.state, CONTINUE);
      const status = input.status;
      const route =
        status === undefined
          ? undefined
          : step.routes.find((r) => status >= r.from && status <= r.to);
      return goto(route ? route.next : step.next);
    }
    case 'actionFailed':
      if (input.stepId !== step.id) return emit(ctx.state, CONTINUE);
      return step.onFailure === 'skip' ? goto(step.next) : finish(ctx.state, 'failed', input.error);
    case 'timerFired':
      // The send window opened (or the timer fired early and the window check waits again).
      return ctx.state.status === 'waiting' ? enterAction(step, ctx) : emit(ctx.state, CONTINUE);
    case 'start':
    case 'event':
    case 'facts':
      return emit(ctx.state, CONTINUE);
    default:
      return assertNever(input, 'input');
  }
}
