import type { ScoringPlan } from '../definitions/index.js';
import { maxFit } from './fit.js';

/**
 * A grade such as `A1`: the letter says fit (A: at least two thirds of the most fit points a
 * contact can have, B: at least a third, C: less), the digit says engagement against the
 * highest lead threshold (1: reached it, 2: at least half way, 3: less). Models without fit
 * rules grade everyone B; models without thresholds use 100 points.
 */
export function grade(plan: ScoringPlan, fit: number, engagement: number): string {
  const best = maxFit(plan);
  const letter = best === 0 ? 'B' : fit >= (2 * best) / 3 ? 'A' : fit >= best / 3 ? 'B' : 'C';
  const top = Math.max(...plan.thresholds.map((t) => t.enterAt), 0) || 100;
  const digit = engagement >= top ? '1' : engagement >= top / 2 ? '2' : '3';
  return `${letter}${digit}`;
}
