import { evaluate, type Facts } from '../core/index.js';
import type { ScoringPlan } from '../definitions/index.js';

export interface FitRuleResult {
  readonly rule: string;
  readonly points: number;
  readonly matched: boolean;
}

export interface FitScore {
  readonly total: number;
  readonly rules: readonly FitRuleResult[];
}

/** Fit from attributes, computed when read: an attribute change needs no rescoring. */
export function fitScore(plan: ScoringPlan, facts: Facts, nowMs: number): FitScore {
  const rules = plan.fitRules.map((rule) => {
    const matched = evaluate(rule.condition, facts, nowMs);
    return { rule: rule.id, points: matched ? rule.points : 0, matched };
  });
  return { total: rules.reduce((sum, r) => sum + r.points, 0), rules };
}

/** The most fit points a contact can have: the sum of the positive rules. */
export function maxFit(plan: ScoringPlan): number {
  return plan.fitRules.reduce((sum, r) => sum + Math.max(0, r.points), 0);
}
