import type { ScoringPlan } from '../definitions/index.js';
import { capBucket, capDelta } from './caps.js';
import { addPoints, EMPTY_SUM, type DecayedSum } from './decay.js';
import { matchingRules, scoringTime, type ScoredEvent } from './rules.js';

export interface FoldEvent extends ScoredEvent {
  readonly id: string;
}

export interface ScoreEntryValue {
  readonly eventId: string;
  readonly ruleId: string;
  readonly requested: number;
  readonly points: number;
  readonly atMs: number;
}

export interface FoldResult {
  readonly entries: readonly ScoreEntryValue[];
  /** Points awarded before decay. */
  readonly points: number;
  readonly decayed: DecayedSum;
  /** Raw points asked of each capped rule per period, keyed `rule|bucket`. */
  readonly caps: ReadonlyMap<string, number>;
}

/**
 * A contact's engagement from its whole event history, in time order: what rescoring stores
 * and what previews compare. Ingestion reaches the same totals one batch at a time.
 */
export function foldEvents(plan: ScoringPlan, events: readonly FoldEvent[]): FoldResult {
  // Scored at the time ingestion scores them (events with a received time), so both agree.
  const sorted = events
    .map((e) => ({ ...e, atMs: scoringTime(e.atMs, e.receivedMs) }))
    .sort((a, b) => a.atMs - b.atMs || (a.id < b.id ? -1 : 1));
  const entries: ScoreEntryValue[] = [];
  const caps = new Map<string, number>();
  let decayed = EMPTY_SUM;
  let points = 0;
  for (const event of sorted) {
    for (const rule of matchingRules(plan, event)) {
      let awarded = rule.points;
      if (rule.cap) {
        const key = `${rule.id}|${capBucket(event.atMs, rule.cap.perMs)}`;
        const raw = (caps.get(key) ?? 0) + rule.points;
        caps.set(key, raw);
        awarded = capDelta(raw, rule.points, rule.cap.points);
      }
      entries.push({
        eventId: event.id,
        ruleId: rule.id,
        requested: rule.points,
        points: awarded,
        atMs: event.atMs,
      });
      points += awarded;
      decayed = addPoints(decayed, awarded, event.atMs, plan.halfLifeMs);
    }
  }
  return { entries, points, decayed, caps };
}
