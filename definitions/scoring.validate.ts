import type { ValidateFunction } from 'ajv';
import { createAjv, problemsFromAjv } from './ajv.js';
import { conditionProblems, type ConditionScope } from './condition.check.js';
import { shapeProblems } from './document-shape.js';
import { pointerOf, type Problem, type Result } from './problem.js';
import { ScoringModelSchema, type ScoringModelDefinition } from './scoring.schema.js';
import type { ValidationContext } from './validation-context.js';
import { durationProblems } from './value.check.js';

let compiled: ValidateFunction<ScoringModelDefinition> | undefined;

function schemaValidator(): ValidateFunction<ScoringModelDefinition> {
  compiled ??= createAjv().compile<ScoringModelDefinition>(ScoringModelSchema);
  return compiled;
}

/** Engagement rule filters are matched against each event as the scorer reads it. */
const ON_EVENT: ConditionScope = {
  event: true,
  enrollment: false,
  emailSteps: new Set(),
  eventOnly: {
    what: 'An engagement rule filter',
    instead: 'points for what the contact is go in `fit.rules`.',
  },
};
const ON_CONTACT: ConditionScope = { event: false, enrollment: false, emailSteps: new Set() };
const STAGE_ORDER = [
  'subscriber',
  'lead',
  'mql',
  'sql',
  'opportunity',
  'customer',
  'evangelist',
  'other',
];

/** Validates a scoring model like a journey: shape, schema, then every semantic problem at once. */
export function validateScoringModel(
  input: unknown,
  context: ValidationContext = {},
): Result<ScoringModelDefinition> {
  const shape = shapeProblems(input);
  if (shape.length > 0) return { ok: false, problems: shape };
  const validate = schemaValidator();
  if (!validate(input)) return { ok: false, problems: problemsFromAjv(validate.errors ?? []) };
  const problems = [...ruleProblems(input, context), ...thresholdProblems(input)];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: input };
}

function ruleProblems(model: ScoringModelDefinition, context: ValidationContext): Problem[] {
  const problems: Problem[] = [
    ...durationProblems(model.engagement.halfLife, ['engagement', 'halfLife'], 'The half-life'),
  ];
  const seen = new Set<string>();
  const unique = (id: string, path: (string | number)[]) => {
    if (seen.has(id))
      problems.push({
        pointer: pointerOf(...path, 'id'),
        code: 'duplicate-rule-id',
        message: `Two rules are called \`${id}\`.`,
      });
    seen.add(id);
  };
  model.engagement.rules.forEach((rule, i) => {
    const path = ['engagement', 'rules', i];
    unique(rule.id, path);
    if (rule.filter)
      problems.push(...conditionProblems(rule.filter, [...path, 'filter'], ON_EVENT, context));
    if (rule.cap)
      problems.push(
        ...durationProblems(
          rule.cap.per,
          [...path, 'cap', 'per'],
          `Rule \`${rule.id}\`'s cap period`,
        ),
      );
  });
  (model.fit?.rules ?? []).forEach((rule, i) => {
    const path = ['fit', 'rules', i];
    unique(rule.id, path);
    problems.push(
      ...conditionProblems(rule.condition, [...path, 'condition'], ON_CONTACT, context),
    );
  });
  return problems;
}

/** Hysteresis needs `exitBelow` at or under `enterAt`; stages must climb as scores do. */
function thresholdProblems(model: ScoringModelDefinition): Problem[] {
  const problems: Problem[] = [];
  const thresholds = model.lifecycle?.thresholds ?? [];
  thresholds.forEach((t, i) => {
    const path = ['lifecycle', 'thresholds', i];
    if (t.exitBelow !== undefined && t.exitBelow > t.enterAt) {
      problems.push({
        pointer: pointerOf(...path, 'exitBelow'),
        code: 'bad-hysteresis',
        message: `Stage \`${t.stage}\` is left below ${t.exitBelow} but entered at ${t.enterAt}; leaving must be at or below entering.`,
      });
    }
    const previous = thresholds[i - 1];
    if (!previous) return;
    // Stages move along the list (scoring/stage.ts), so the list follows the funnel whatever
    // score each stage reads; scores can only be compared when two stages read the same one.
    const sameScore = (previous.score ?? 'lead') === (t.score ?? 'lead');
    if (STAGE_ORDER.indexOf(previous.stage) >= STAGE_ORDER.indexOf(t.stage)) {
      problems.push({
        pointer: pointerOf(...path),
        code: 'thresholds-out-of-order',
        message: `Stage \`${t.stage}\` must come after \`${previous.stage}\` in the funnel.`,
      });
    } else if (sameScore && previous.enterAt >= t.enterAt) {
      problems.push({
        pointer: pointerOf(...path),
        code: 'thresholds-out-of-order',
        message: `Stage \`${t.stage}\` must need a higher score than \`${previous.stage}\`.`,
      });
    }
  });
  return problems;
}
