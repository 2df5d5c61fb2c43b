import { assertNever } from './assert-never.js';
import type { ConditionCheck } from './condition-trace.js';
import { traceCondition } from './condition-trace.js';
import { evaluate } from './evaluate.js';
import { hashUnit } from './hash.js';
import type { BranchStep, SplitStep } from './plan.js';
import {
  factsFor,
  finish,
  goto,
  NEED_FACTS,
  type StepContext,
  type StepResult,
} from './step-context.js';

/**
 * Branch steps choose the next step at once and never wait. Conditions see facts loaded for
 * this very input, so an attribute set by the previous action is visible. The choice is
 * reported with the values each evaluated case read.
 */
export function enterBranch(step: BranchStep, ctx: StepContext): StepResult {
  switch (step.type) {
    case 'branch': {
      const conditions: ConditionCheck[] = [];
      const decide = (took: string, next: string | null) =>
        goto(next, { kind: 'branch', stepId: step.id, took, conditions });
      for (const c of step.cases) {
        const facts = factsFor(ctx, c.condition);
        if (!facts) return NEED_FACTS;
        conditions.push(...traceCondition(c.condition, facts, ctx.now));
        if (evaluate(c.condition, facts, ctx.now)) return decide(c.name, c.next);
      }
      return decide('else', step.otherwise);
    }
    case 'split':
      return split(step, ctx);
    default:
      return assertNever(step, 'branch step');
  }
}

/**
 * Weighted and stable per contact: the bucket comes from a hash of the journey (the seed), the
 * contact and the step, the same in every version of the journey and on every pass.
 */
function split(step: SplitStep, ctx: StepContext): StepResult {
  const total = step.arms.reduce((sum, arm) => sum + arm.weight, 0) + step.holdout;
  const unseeded = `${ctx.state.contactId}:${step.id}`;
  let point = hashUnit(step.seed === undefined ? unseeded : `${step.seed}:${unseeded}`) * total;
  for (const arm of step.arms) {
    if (point < arm.weight) return goto(arm.next);
    point -= arm.weight;
  }
  return finish(ctx.state, 'exited', 'holdout');
}
