import { traceCondition, type ConditionCheck } from './condition-trace.js';
import type { PlanCondition } from './condition.js';
import type { Decision, Input, Outcome } from './enrollment.js';
import { evaluate } from './evaluate.js';
import type { EventFacts } from './facts.js';
import type { Plan, PlanCriterion } from './plan.js';
import { factsFor, finish, NEED_FACTS, type StepContext, type StepResult } from './step-context.js';

/**
 * Goals, exits and suppression end an enrollment whatever it is doing, so they are checked
 * on every input before the current step sees it. A goal met is a conversion. The one met is
 * reported as a decision with the values its condition read; those not met are not.
 */
export function checkInterrupts(input: Input, ctx: StepContext): StepResult | null {
  const { plan } = ctx;
  const event = input.type === 'event' ? input.event : undefined;
  const checks: readonly [readonly PlanCriterion[], Outcome][] = [
    [plan.goals, 'converted'],
    [plan.exits, 'exited'],
  ];
  for (const [criteria, outcome] of checks) {
    for (const criterion of criteria) {
      const met = isMet(criterion, ctx, event);
      if (met === null) return NEED_FACTS;
      if (met) return decided(ctx, outcome, criterion.id, met);
    }
  }
  for (const condition of plan.suppression) {
    const facts = factsFor(ctx, condition);
    if (!facts) return NEED_FACTS;
    if (evaluate(condition, facts, ctx.now)) {
      return decided(ctx, 'exited', 'suppressed', traceCondition(condition, facts, ctx.now));
    }
  }
  return null;
}

function decided(
  ctx: StepContext,
  outcome: Outcome,
  took: string,
  conditions: readonly ConditionCheck[],
): StepResult {
  const result = finish(ctx.state, outcome, took);
  if (result.kind !== 'emit') return result;
  const kind: Decision['kind'] = outcome === 'converted' ? 'goal' : 'exit';
  return { ...result, decision: { kind, stepId: ctx.state.stepId, took, conditions } };
}

/** Whether the plan has conditions that need the contact's facts at every input. */
export function watchesConditions(plan: Plan): boolean {
  return (
    plan.suppression.length > 0 ||
    [...plan.goals, ...plan.exits].some((c) => c.type === 'condition')
  );
}

/**
 * The comparisons that made the criterion true (none for an event without a filter), false
 * when it is not met, null when the contact's facts are needed to tell.
 */
function isMet(
  criterion: PlanCriterion,
  ctx: StepContext,
  event: EventFacts | undefined,
): readonly ConditionCheck[] | false | null {
  if (criterion.type === 'event') {
    if (!event || event.name !== criterion.event) return false;
    if (!criterion.filter) return [];
    return holds(criterion.filter, ctx, event);
  }
  return holds(criterion.condition, ctx);
}

function holds(
  condition: PlanCondition,
  ctx: StepContext,
  event?: EventFacts,
): readonly ConditionCheck[] | false | null {
  const facts = factsFor(ctx, condition, event);
  if (!facts) return null;
  return evaluate(condition, facts, ctx.now) && traceCondition(condition, facts, ctx.now);
}
