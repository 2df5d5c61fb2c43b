import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileJourney,
  compileScoringModel,
  validateJourney,
  validateScoringModel,
} from '../../definitions/index.js';
import { JOURNEY_EXAMPLES, readExample, TEMPLATES } from '../core/examples.js';

describe('the examples', () => {
  it.each(JOURNEY_EXAMPLES)(
    '%s validates against templates/ and compiles to a plain-JSON, hashed plan',
    (file) => {
      const result = validateJourney(readExample(file), {
        templateExists: (name) => TEMPLATES.has(name),
      });
      expect(result.ok ? [] : result.problems).toEqual([]);
      if (!result.ok) return;
      const plan = compileJourney(result.value);
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
      expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
      for (const step of Object.values(plan.steps)) {
        for (const target of nextPointers(step))
          expect(target === null || target in plan.steps).toBe(true);
      }
    },
  );

  it('gives the same hash whatever the key order, and another hash for another definition', () => {
    const doc = readExample('welcome-series.json') as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    const plan = (d: unknown) => {
      const r = validateJourney(d);
      if (!r.ok) throw new Error('invalid');
      return compileJourney(r.value).hash;
    };
    expect(plan(reordered)).toBe(plan(doc));
    expect(plan({ ...doc, name: 'Welcome, again' })).not.toBe(plan(doc));
  });

  it('validates and compiles the default scoring model', () => {
    const result = validateScoringModel(
      JSON.parse(readFileSync('examples/default-scoring-model.json', 'utf8')),
    );
    expect(result.ok ? [] : result.problems).toEqual([]);
    if (result.ok)
      expect(compileScoringModel(result.value).thresholds[1]).toEqual({
        stage: 'mql',
        score: 'lead',
        enterAt: 60,
        exitBelow: 45,
      });
  });
});

function nextPointers(step: object): (string | null)[] {
  const found: (string | null)[] = [];
  const visit = (v: unknown, key: string) => {
    if (['next', 'otherwise', 'onTimeout'].includes(key) && (typeof v === 'string' || v === null))
      found.push(v);
    if (typeof v === 'object' && v !== null)
      for (const [k, c] of Object.entries(v)) if (k !== 'condition') visit(c, k);
  };
  visit(step, '');
  return found;
}
