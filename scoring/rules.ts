import { evaluate } from '../core/index.js';
import type { ScoringPlan } from '../definitions/index.js';

export type EventRule = ScoringPlan['eventRules'][number];

export interface ScoredEvent {
  readonly name: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly atMs: number;
}

/** The engagement rules an event matches (name, then the rule's property filter). */
export function matchingRules(plan: ScoringPlan, event: ScoredEvent): EventRule[] {
  return plan.eventRules.filter(
    (rule) =>
      rule.event === event.name &&
      (rule.filter === null ||
        evaluate(rule.filter, { contact: {}, event: event.properties }, event.atMs)),
  );
}
