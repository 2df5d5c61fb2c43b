// Scoring's pure core: decay, caps, rule matching, fit, grades and stage thresholds. No I/O, so
// the ingest path, rescoring and previews all compute the same numbers.
export { addPoints, decayFactor, EMPTY_SUM, valueAt, type DecayedSum } from './decay.js';
export { capBucket, capDelta, clampToCap, shareOut } from './caps.js';
export { matchingRules, scoringTime, type EventRule, type ScoredEvent } from './rules.js';
export { fitScore, maxFit, type FitScore, type FitRuleResult } from './fit.js';
export { grade } from './grade.js';
export { nextStage, type ScoreValues, type Threshold } from './stage.js';
export { foldEvents, type FoldEvent, type FoldResult, type ScoreEntryValue } from './fold.js';
