import { assertNever } from './assert-never.js';
import type { PlanCondition } from './condition.js';
import type {
  Command,
  Decision,
  EnrollmentState,
  Outcome,
  Transition,
  WakeOn,
} from './enrollment.js';
import type { EventFacts, Facts } from './facts.js';
import type { Plan, PlanStep } from './plan.js';

/** What a step handler sees: the plan, the enrollment as just entered, the clock and facts. */
export interface StepContext {
  readonly plan: Plan;
  readonly state: EnrollmentState;
  readonly now: number;
  /** Loaded facts for this input, or null when none were loaded yet. */
  readonly facts: Facts | null;
}

/**
 * A handler's answer: move on to another step (`null` completes the enrollment), hand a
 * command to the shell, or ask for facts first (the whole input is then replayed with them).
 */
export type StepResult =
  | {
      readonly kind: 'goto';
      readonly stepId: string | null;
      readonly decision?: Decision;
      /** The enrollment as the step leaves it, when the step changed it; else as entered. */
      readonly state?: EnrollmentState;
    }
  | {
      readonly kind: 'emit';
      readonly transition: Omit<Transition, 'entered' | 'decisions'>;
      readonly decision?: Decision;
    }
  | { readonly kind: 'needFacts' };

export const NEED_FACTS: StepResult = { kind: 'needFacts' };
export const CONTINUE: Command = { type: 'continue' };

export function goto(stepId: string | null, decision?: Decision): StepResult {
  return decision ? { kind: 'goto', stepId, decision } : { kind: 'goto', stepId };
}

export function emit(state: EnrollmentState, command: Command): StepResult {
  return { kind: 'emit', transition: { state, command } };
}

export function finish(
  state: EnrollmentState,
  outcome: Outcome,
  reason: string | null,
): StepResult {
  return emit(
    { ...state, status: outcome, wakeAt: null, deadline: null },
    { type: 'finish', outcome, stepId: state.stepId, reason },
  );
}

/** Enters a waiting state and tells the shell what can wake it. */
export function waitUntil(ctx: StepContext, wakeAt: number, deadline: number): StepResult {
  const state: EnrollmentState = { ...ctx.state, status: 'waiting', wakeAt, deadline };
  const stepId = ctx.state.stepId ?? '';
  const step = ctx.plan.steps[stepId];
  return emit(state, { type: 'wait', stepId, until: wakeAt, wakeOn: wakeOnFor(ctx.plan, step) });
}

export function wakeOnFor(plan: Plan, step: PlanStep | undefined): WakeOn {
  const events = new Set<string>();
  if (step?.type === 'waitForEvent') events.add(step.event);
  for (const c of [...plan.goals, ...plan.exits]) if (c.type === 'event') events.add(c.event);
  const watched =
    step?.type === 'waitForCondition' ||
    plan.suppression.length > 0 ||
    [...plan.goals, ...plan.exits].some((c) => c.type === 'condition');
  return { events: [...events].sort(), anyChange: watched };
}

/**
 * Facts to evaluate `condition` with: the loaded ones when there are, else, for a condition
 * that reads only the events, the events alone; null means the contact must be loaded first.
 */
export function factsFor(
  ctx: StepContext,
  condition: PlanCondition,
  event?: EventFacts,
): Facts | null {
  const base = ctx.facts ?? (readsContact(condition) ? null : { contact: {} });
  if (!base) return null;
  return { ...base, trigger: ctx.state.trigger?.properties ?? {}, event: event?.properties ?? {} };
}

export function readsContact(condition: PlanCondition): boolean {
  switch (condition.type) {
    case 'all':
    case 'any':
      return condition.conditions.some(readsContact);
    case 'not':
      return readsContact(condition.condition);
    case 'emailActivity':
      return true;
    case 'equals':
    case 'notEquals':
    case 'in':
    case 'contains':
    case 'exists':
    case 'compare':
    case 'relativeDate':
      return condition.field.source !== 'event' && condition.field.source !== 'trigger';
    default:
      return assertNever(condition, 'condition');
  }
}
