import { assertNever } from './assert-never.js';
import type { Decision, EnrollmentState, Input, Transition } from './enrollment.js';
import { isFinished } from './enrollment.js';
import { checkInterrupts } from './interrupts.js';
import type { Plan, PlanStep } from './plan.js';
import { enterAction, resumeAction } from './step-actions.js';
import { enterBranch } from './step-branches.js';
import { CONTINUE, emit, finish, type StepContext, type StepResult } from './step-context.js';
import { enterWait, resumeWait } from './step-waits.js';

export * from './enrollment.js';

/**
 * The journey interpreter as a pure function: given a plan, the enrollment's state and one
 * input, it returns the next state and exactly one command for the shell to carry out. The
 * Temporal workflow and the simulator are both shells around it; neither decides anything.
 *
 * When a step needs the contact's facts, the answer is `loadFacts` and the input is kept;
 * the `facts` input replays it with the facts in hand, so no step ever runs on half-known data.
 */

/** Steps entered for one input before giving up: a definition loop the checks missed. */
export const MAX_STEPS_PER_ADVANCE = 500;

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

export function advance(plan: Plan, state: EnrollmentState, input: Input, now: number): Transition {
  if (isFinished(state)) return { state, command: CONTINUE, entered: [], decisions: [] };
  if (input.type === 'facts') {
    if (!state.pending) return { state, command: CONTINUE, entered: [], decisions: [] };
    return process(plan, { ...state, pending: null, facts: input.facts }, state.pending, now);
  }
  const facts = input.type === 'start' && input.facts ? input.facts : null;
  return process(plan, { ...state, pending: null, facts }, input, now);
}

function process(plan: Plan, state: EnrollmentState, input: Input, now: number): Transition {
  const trail: Trail = { entered: [], decisions: [] };
  const result = handle(plan, state, input, now, trail);
  if (result.kind === 'needFacts') {
    return {
      state: { ...state, pending: input, facts: null },
      command: { type: 'loadFacts' },
      entered: [],
      decisions: [],
    };
  }
  if (result.kind === 'goto') throw new PlanError('A step result escaped the step loop.');
  if (result.decision) trail.decisions.push(result.decision);
  const next = { ...result.transition.state, facts: null, pending: null };
  return { state: next, command: result.transition.command, ...trail };
}

/** What one input went through: the steps entered and the choices made, in order. */
interface Trail {
  readonly entered: string[];
  readonly decisions: Decision[];
}

function handle(
  plan: Plan,
  state: EnrollmentState,
  input: Input,
  now: number,
  trail: Trail,
): StepResult {
  const ctx: StepContext = { plan, state, now, facts: state.facts };
  const interrupt = checkInterrupts(input, ctx);
  if (interrupt) return interrupt;
  if (input.type === 'start') {
    return state.stepId === null && Object.keys(state.visits).length === 0
      ? follow(ctx, { kind: 'goto', stepId: plan.entry }, trail)
      : emit(state, CONTINUE);
  }
  if (state.stepId === null) return emit(state, CONTINUE);
  return follow(ctx, resume(stepAt(plan, state.stepId), input, ctx), trail);
}

/** Follows `goto`s from step to step until a step hands the shell a command. */
function follow(ctx: StepContext, first: StepResult, trail: Trail): StepResult {
  let result = first;
  let state = ctx.state;
  for (let count = 0; result.kind === 'goto'; count++) {
    if (result.decision) trail.decisions.push(result.decision);
    if (result.state) state = result.state;
    if (result.stepId === null) return finish(state, 'completed', null);
    if (count >= MAX_STEPS_PER_ADVANCE) return finish(state, 'failed', 'step-limit');
    const stepId = result.stepId;
    trail.entered.push(stepId);
    state = {
      ...state,
      status: 'active',
      stepId,
      wakeAt: null,
      deadline: null,
      visits: { ...state.visits, [stepId]: (state.visits[stepId] ?? 0) + 1 },
    };
    result = enter(stepAt(ctx.plan, stepId), { ...ctx, state });
  }
  return result;
}

function enter(step: PlanStep, ctx: StepContext): StepResult {
  switch (step.type) {
    case 'action':
      return enterAction(step, ctx);
    case 'wait':
    case 'waitUntil':
    case 'waitForTime':
    case 'waitForEvent':
    case 'waitForCondition':
      return enterWait(step, ctx);
    case 'branch':
    case 'split':
      return enterBranch(step, ctx);
    case 'exit':
      return finish(ctx.state, 'exited', step.reason);
    default:
      return assertNever(step, 'step');
  }
}

function resume(step: PlanStep, input: Input, ctx: StepContext): StepResult {
  switch (step.type) {
    case 'action':
      return resumeAction(step, input, ctx);
    case 'wait':
    case 'waitUntil':
    case 'waitForTime':
    case 'waitForEvent':
    case 'waitForCondition':
      return resumeWait(step, input, ctx);
    case 'branch':
    case 'split':
    case 'exit':
      // Never current between inputs: they decide at once.
      return emit(ctx.state, CONTINUE);
    default:
      return assertNever(step, 'step');
  }
}

function stepAt(plan: Plan, stepId: string): PlanStep {
  const step = Object.hasOwn(plan.steps, stepId) ? plan.steps[stepId] : undefined;
  if (!step) throw new PlanError(`Plan ${plan.journeyKey} has no step ${stepId}`);
  return step;
}
