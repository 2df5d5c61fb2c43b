import { describe, expect, it } from 'vitest';
import { compileScoringModel, validateScoringModel } from '../../definitions/index.js';
import {
  addPoints,
  capDelta,
  EMPTY_SUM,
  foldEvents,
  grade,
  nextStage,
  shareOut,
  valueAt,
} from '../../scoring/index.js';
import defaultModel from '../../examples/default-scoring-model.json' with { type: 'json' };

const DAY = 86_400_000;
const validated = validateScoringModel(defaultModel);
if (!validated.ok) throw new Error('the default scoring model is invalid');
const plan = compileScoringModel(validated.value);

/** Scoring's pure core: the numbers ingestion, rescoring and previews all agree on. */
describe('scoring core', () => {
  it('decays exactly, in any arrival order', () => {
    const events = [
      { points: 10, at: 0 },
      { points: 5, at: 3 * DAY },
      { points: 8, at: DAY },
    ];
    const forward = events.reduce((s, e) => addPoints(s, e.points, e.at, 30 * DAY), EMPTY_SUM);
    const backward = [...events]
      .reverse()
      .reduce((s, e) => addPoints(s, e.points, e.at, 30 * DAY), EMPTY_SUM);
    const now = 40 * DAY;
    const exact = events.reduce((sum, e) => sum + e.points * 2 ** (-(now - e.at) / (30 * DAY)), 0);
    expect(valueAt(forward, now, 30 * DAY)).toBeCloseTo(exact, 10);
    expect(valueAt(backward, now, 30 * DAY)).toBeCloseTo(exact, 10);
    const flat = events.reduce((s, e) => addPoints(s, e.points, e.at, null), EMPTY_SUM);
    expect(valueAt(flat, now, null)).toBe(23);
  });

  it('caps a period to the same total whatever the order', () => {
    expect(capDelta(10, 10, 20)).toBe(10);
    expect(capDelta(30, 10, 20)).toBe(0);
    expect(capDelta(25, 10, 20)).toBe(5);
    expect(shareOut([10, 10, 10], 25)).toEqual([10, 10, 5]);
    const views = [3, 1, 2].map((n) => ({
      id: `e${n}`,
      name: 'page_viewed',
      properties: { path: '/pricing' },
      atMs: Date.UTC(2025, 0, 1, n),
    }));
    expect(foldEvents(plan, views).points).toBe(20);
  });

  it('moves stages with hysteresis', () => {
    const at = (lead: number, current: string | null) =>
      nextStage(plan.thresholds, current, { engagement: lead, fit: 0, lead });
    expect(at(59, 'lead')).toBe('lead');
    expect(at(60, 'lead')).toBe('mql');
    expect(at(50, 'mql')).toBe('mql'); // above exitBelow 45
    expect(at(44, 'mql')).toBe('lead');
    expect(at(3, 'mql')).toBe(null);
    expect(at(100, 'customer')).toBe('customer'); // not the thresholds' business
  });

  it('grades fit with a letter and engagement with a digit', () => {
    expect(grade(plan, 30, 60)).toBe('A1');
    expect(grade(plan, 10, 30)).toBe('B2');
    expect(grade(plan, -10, 0)).toBe('C3');
  });
});
