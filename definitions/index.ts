// The definitions folder's public surface: the document schemas, their validation and their
// compilation into plans.
export {
  JOURNEY_SCHEMA_ID,
  JourneySchema,
  type JourneyDefinition,
  type StepDefinition,
  type TriggerDefinition,
} from './journey.schema.js';
export {
  SCORING_SCHEMA_ID,
  ScoringModelSchema,
  type ScoringModelDefinition,
} from './scoring.schema.js';
export { ConditionSchema, type ConditionDefinition } from './condition.schema.js';
export { validateJourney, journeySchemaValidator } from './journey.validate.js';
export { validateScoringModel } from './scoring.validate.js';
export type { ValidationContext, AttributeType } from './validation-context.js';
export { compileJourney, hashOf } from './journey.compile.js';
export { compileScoringModel, type ScoringPlan } from './scoring.compile.js';
export { compileCondition } from './condition.compile.js';
export { canonicalJson } from './hash.js';
export type { Problem, Result } from './problem.js';
export { journeyJsonSchema, scoringModelJsonSchema } from './json-schema.js';
export { createAjv, problemsFromAjv, storableTime } from './ajv.js';
export { pointerOf } from './problem.js';
