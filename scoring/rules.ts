import { evaluate } from '../core/index.js';
import type { ScoringPlan } from '../definitions/index.js';

export type EventRule = ScoringPlan['eventRules'][number];

export interface ScoredEvent {
  readonly name: string;
  readonly properties: Readonly<Record<string, unknown>>;
  /** The event's own time (its `timestamp`, as the sender's clock had it). */
  readonly atMs: number;
  /** When Drumbeat received it, where known: see {@link scoringTime}. */
  readonly receivedMs?: number;
}

/**
 * When an event's points count from: its own time, but never after it was received. A sender
 * whose clock runs ahead would otherwise anchor decay in the future, and a score read now would
 * multiply the points (a year-2100 timestamp reads as Infinity). The stored event keeps its time.
 */
export function scoringTime(atMs: number, receivedMs: number | undefined): number {
  return receivedMs === undefined ? atMs : Math.min(atMs, receivedMs);
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
