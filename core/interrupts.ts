import type { Input, Outcome } from './enrollment.js';
import { evaluate } from './evaluate.js';
import type { EventFacts } from './facts.js';
import type { Plan, PlanCriterion } from './plan.js';
import { factsFor, finish, NEED_FACTS, type StepContext, type StepResult } from './step-context.js';

/**
 * Goals, exits and suppression end an enrollment whatever it is doing, so they are checked
 * on every input before the current step sees it. A goal met is a conversion.
 */
export function checkInterrupts(input: Input, ctx: StepContext): StepResult | null {
  const { plan, state } = ctx;
  const event = input.type === 'event' ? input.event : undefined;
  const checks: readonly [readonly PlanCriterion[], Outcome][] = [
    [plan.goals, 'converted'],
    [plan.exits, 'exited'],
  ];
  for (const [criteria, outcome] of checks) {
    for (const criterion of criteria) {
      const met = isMet(criterion, ctx, event);
      if (met === null) return NEED_FACTS;
      if (met) return finish(state, outcome, criterion.id);
    }
  }
  for (const condition of plan.suppression) {
    const facts = factsFor(ctx, condition);
    if (!facts) return NEED_FACTS;
    if (evaluate(condition, facts, ctx.now)) return finish(state, 'exited', 'suppressed');
  }
  return null;
}

/** Whether the plan has conditions that need the contact's facts at every input. */
export function watchesConditions(plan: Plan): boolean {
  return (
    plan.suppression.length > 0 ||
    [...plan.goals, ...plan.exits].some((c) => c.type === 'condition')
  );
}

/** Null when the contact's facts are needed to tell. */
function isMet(
  criterion: PlanCriterion,
  ctx: StepContext,
  event: EventFacts | undefined,
): boolean | null {
  if (criterion.type === 'event') {
    if (!event || event.name !== criterion.event) return false;
    if (!criterion.filter) return true;
    const facts = factsFor(ctx, criterion.filter, event);
    return facts ? evaluate(criterion.filter, facts, ctx.now) : null;
  }
  const facts = factsFor(ctx, criterion.condition);
  return facts ? evaluate(criterion.condition, facts, ctx.now) : null;
}
