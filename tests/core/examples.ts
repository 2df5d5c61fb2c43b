import { readdirSync, readFileSync } from 'node:fs';
import type { Plan } from '../../core/index.js';
import { compileJourney, validateJourney } from '../../definitions/index.js';

/** The realistic definitions in `examples/`, validated against `templates/` and compiled. */
export const TEMPLATES = new Set(
  readdirSync('templates')
    .filter((f) => f.endsWith('.hbs'))
    .map((f) => f.slice(0, -'.hbs'.length)),
);

export const JOURNEY_EXAMPLES = readdirSync('examples').filter(
  (f) => f.endsWith('.json') && !f.includes('scoring'),
);

export function readExample(file: string): unknown {
  return JSON.parse(readFileSync(`examples/${file}`, 'utf8'));
}

export function planOf(document: unknown): Plan {
  const result = validateJourney(document, { templateExists: (name) => TEMPLATES.has(name) });
  if (!result.ok) throw new Error(`invalid: ${JSON.stringify(result.problems)}`);
  return compileJourney(result.value);
}

export function examplePlan(file: string): Plan {
  return planOf(readExample(file));
}

/** A small journey document around the given steps, for focused tests. */
export function journey(
  steps: unknown[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id: 'test', name: 'Test', triggers: [{ type: 'event', event: 'go' }], steps, ...extra };
}

export const T0 = Date.parse('2025-03-03T10:00:00Z'); // a Monday
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
