import {
  addPoints,
  capBucket,
  capDelta,
  EMPTY_SUM,
  matchingRules,
  scoringTime,
  shareOut,
  type DecayedSum,
  type ScoredEvent,
} from '../scoring/index.js';
import type { Sql } from '../store/index.js';
import type { ActiveScoringPlan } from './scoring-plans.js';
import {
  addToCaps,
  addToScores,
  type CapRow,
  type EntryConflicts,
  type EntryRow,
  type ScoreRow,
} from './score-sql.js';

export interface NewEvent extends ScoredEvent {
  readonly id: string;
  readonly contactId: string;
  /** Every event scored here was stored with its arrival time: see `scoringTime`. */
  readonly receivedMs: number;
}

/** What scoring did under one model version: every touched contact's new score row. */
export interface ModelScores {
  readonly model: ActiveScoringPlan;
  readonly rows: ScoreRow[];
}

/**
 * Scores freshly stored events in the transaction that owns them (the one that stored them, or
 * the scorer pass that moves the cursor past them), so each event is scored exactly once: a
 * duplicate `messageId` is neither stored nor scored, and a crash loses both or neither.
 * Points count from {@link scoringTime}: never later than the event was received. Returns every
 * touched contact's new score row per model version. `conflicts`: see {@link EntryConflicts}.
 */
export async function scoreNewEvents(
  tx: Sql,
  active: readonly ActiveScoringPlan[],
  events: readonly NewEvent[],
  conflicts: EntryConflicts = 'skip',
): Promise<ModelScores[]> {
  const timed = events.map((e) => {
    const atMs = scoringTime(e.atMs, e.receivedMs);
    return atMs === e.atMs ? e : { ...e, atMs };
  });
  const results: ModelScores[] = [];
  for (const model of active) {
    const candidates = timed.flatMap((event) =>
      matchingRules(model.plan, event).map((rule) => ({ event, rule })),
    );
    if (candidates.length === 0) continue;

    // Capped rules: sum what each (contact, rule, period) asks for, add it to the bucket, and
    // share out what the bucket gives now among this batch's entries in time order.
    const groups = new Map<string, CapRow & { raw: number; cap: number; indexes: number[] }>();
    candidates.forEach(({ event, rule }, index) => {
      if (!rule.cap) return;
      const bucket = capBucket(event.atMs, rule.cap.perMs);
      const key = `${event.contactId}|${rule.id}|${bucket}`;
      let group = groups.get(key);
      if (!group) {
        group = {
          contactId: event.contactId,
          ruleId: rule.id,
          bucket,
          raw: 0,
          cap: rule.cap.points,
          indexes: [],
        };
        groups.set(key, group);
      }
      group.raw += rule.points;
      group.indexes.push(index);
    });
    const awarded = candidates.map(({ rule }) => rule.points);
    if (groups.size > 0) {
      const after = await addToCaps(tx, model.versionId, [...groups.values()]);
      for (const [key, group] of groups) {
        const given = capDelta(after.get(key) ?? group.raw, group.raw, group.cap);
        const order = [...group.indexes].sort(
          (a, b) => (candidates[a]?.event.atMs ?? 0) - (candidates[b]?.event.atMs ?? 0),
        );
        const shares = shareOut(
          order.map((i) => candidates[i]?.rule.points ?? 0),
          given,
        );
        order.forEach((i, n) => (awarded[i] = shares[n] ?? 0));
      }
    }

    const entries: EntryRow[] = candidates.map(({ event, rule }, i) => ({
      contactId: event.contactId,
      eventId: event.id,
      ruleId: rule.id,
      requested: rule.points,
      points: awarded[i] ?? 0,
      atMs: event.atMs,
    }));
    const perContact = new Map<string, { points: number; decayed: DecayedSum }>();
    for (const entry of entries) {
      const now = perContact.get(entry.contactId) ?? { points: 0, decayed: EMPTY_SUM };
      perContact.set(entry.contactId, {
        points: now.points + entry.points,
        decayed: addPoints(now.decayed, entry.points, entry.atMs, model.plan.halfLifeMs),
      });
    }
    const rows = await addToScores(
      tx,
      model.versionId,
      model.plan.halfLifeMs,
      entries,
      [...perContact].map(([contactId, d]) => ({ contactId, ...d })),
      conflicts,
    );
    results.push({ model, rows });
  }
  return results;
}
