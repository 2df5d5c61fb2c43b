import type { ValidateFunction } from 'ajv';
import { createAjv, problemsFromAjv } from './ajv.js';
import { graphProblems } from './graph.check.js';
import { JourneySchema, type JourneyDefinition } from './journey.schema.js';
import type { Problem, Result } from './problem.js';
import {
  entryProblems,
  interruptProblems,
  settingsProblems,
  triggerProblems,
} from './rules.check.js';
import { shapeProblems } from './document-shape.js';
import { stepProblems } from './step.check.js';
import type { ValidationContext } from './validation-context.js';

export type { ValidationContext } from './validation-context.js';

let compiled: ValidateFunction<JourneyDefinition> | undefined;

/** The schema-only validator, compiled once per process. */
export function journeySchemaValidator(): ValidateFunction<JourneyDefinition> {
  compiled ??= createAjv().compile<JourneyDefinition>(JourneySchema);
  return compiled;
}

/**
 * Validates a journey document: its size and depth, the JSON Schema, then the checks a schema
 * cannot express. Every problem is reported at once; nothing is returned typed unless all pass.
 */
export function validateJourney(
  input: unknown,
  context: ValidationContext = {},
): Result<JourneyDefinition> {
  const shape = shapeProblems(input);
  if (shape.length > 0) return { ok: false, problems: shape };
  const validate = journeySchemaValidator();
  if (!validate(input)) return { ok: false, problems: problemsFromAjv(validate.errors ?? []) };
  const problems = semanticProblems(input, context);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: input };
}

function semanticProblems(journey: JourneyDefinition, context: ValidationContext): Problem[] {
  const emailSteps = new Set(journey.steps.flatMap((s) => (s.type === 'sendEmail' ? [s.id] : [])));
  const scope = { event: false, enrollment: true, emailSteps };
  const hasEntryKey = journey.entry?.key !== undefined;
  return [
    ...journey.triggers.flatMap((t, i) => triggerProblems(t, i, context)),
    ...entryProblems(journey, context),
    ...interruptProblems(journey, scope, context),
    ...settingsProblems(journey),
    ...graphProblems(journey.steps),
    ...journey.steps.flatMap((step, i) =>
      stepProblems({ step, path: ['steps', i], context, scope, hasEntryKey }),
    ),
  ];
}
