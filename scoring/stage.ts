import type { ScoringPlan } from '../definitions/index.js';

export type Threshold = ScoringPlan['thresholds'][number];

export interface ScoreValues {
  readonly engagement: number;
  readonly fit: number;
  readonly lead: number;
}

/**
 * The lifecycle stage thresholds give a contact now, with hysteresis: a stage is entered at
 * `enterAt` and kept until the score falls below `exitBelow`. Contacts in a stage the thresholds
 * do not manage (a customer, an SQL set by sales) are left alone. `null` means below every
 * threshold.
 */
export function nextStage(
  thresholds: readonly Threshold[],
  current: string | null,
  scores: ScoreValues,
): string | null {
  const index = thresholds.findIndex((t) => t.stage === current);
  if (current !== null && index < 0) return current;
  let stage = index;
  // Falling: the highest stage at or below the current one whose exit is not crossed.
  while (stage >= 0 && below(thresholds[stage], scores)) stage--;
  // Rising: the highest stage above that whose entry is reached.
  for (let i = thresholds.length - 1; i > stage; i--) {
    const t = thresholds[i];
    if (t && scores[t.score] >= t.enterAt) {
      stage = i;
      break;
    }
  }
  return thresholds[stage]?.stage ?? null;
}

function below(t: Threshold | undefined, scores: ScoreValues): boolean {
  return t !== undefined && scores[t.score] < t.exitBelow;
}
