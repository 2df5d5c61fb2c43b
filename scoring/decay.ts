/**
 * Exponential decay kept as a running sum: an engagement score is Σ pᵢ·2^((tᵢ − anchor)/h),
 * read at time `now` as sum·2^((anchor − now)/h). Adding a point is an addition whatever the
 * event's timestamp, so out-of-order events and concurrent writers give the same result, and
 * nothing has to sweep the database to make scores fall. The anchor only moves forward, so no
 * exponent is ever positive and nothing overflows. Without a half-life every factor is 1.
 */
export interface DecayedSum {
  readonly sum: number;
  readonly anchorMs: number;
}

export const EMPTY_SUM: DecayedSum = { sum: 0, anchorMs: 0 };

/** What one point at `fromMs` is worth at `toMs`. */
export function decayFactor(fromMs: number, toMs: number, halfLifeMs: number | null): number {
  return halfLifeMs === null ? 1 : 2 ** ((fromMs - toMs) / halfLifeMs);
}

/**
 * Adds points earned at `atMs`: the event's own time, not the arrival time, but never after the
 * arrival (`scoringTime` in rules.ts), so the anchor is never ahead of a reader's `now`.
 */
export function addPoints(
  state: DecayedSum,
  points: number,
  atMs: number,
  halfLifeMs: number | null,
): DecayedSum {
  const anchorMs = Math.max(state.anchorMs, atMs);
  return {
    anchorMs,
    sum:
      state.sum * decayFactor(state.anchorMs, anchorMs, halfLifeMs) +
      points * decayFactor(atMs, anchorMs, halfLifeMs),
  };
}

/** The decayed value at `nowMs`, exact to floating point. */
export function valueAt(state: DecayedSum, nowMs: number, halfLifeMs: number | null): number {
  return state.sum * decayFactor(state.anchorMs, nowMs, halfLifeMs);
}
