import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAjv, journeyJsonSchema, scoringModelJsonSchema } from '../../definitions/index.js';

describe('the committed JSON Schemas', () => {
  it.each([
    ['journey.schema.json', journeyJsonSchema],
    ['scoring-model.schema.json', scoringModelJsonSchema],
  ])(
    '%s matches its TypeBox source (run `npm run schemas` after changing a schema)',
    (file, generate) => {
      const committed: unknown = JSON.parse(readFileSync(`definitions/schemas/${file}`, 'utf8'));
      expect(committed).toEqual(generate());
    },
  );

  it('are standalone draft 2020-12 documents that AJV compiles in strict mode', () => {
    const ajv = createAjv();
    for (const schema of [journeyJsonSchema(), scoringModelJsonSchema()])
      expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('give every step, trigger and condition kind a title and a description', () => {
    const at = (value: unknown, ...path: string[]): unknown =>
      path.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), value);
    const branches = (value: unknown): unknown[] => {
      const oneOf = at(value, 'oneOf');
      return Array.isArray(oneOf) ? oneOf : [];
    };
    const schema = journeyJsonSchema();
    const nodes = [
      ...branches(at(schema, 'properties', 'steps', 'items')),
      ...branches(at(schema, 'properties', 'triggers', 'items')),
      ...branches(at(schema, '$defs', 'Condition')),
    ];
    expect(nodes.length).toBeGreaterThan(40);
    for (const node of nodes) {
      expect([typeof at(node, 'title'), typeof at(node, 'description')]).toEqual([
        'string',
        'string',
      ]);
    }
  });
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
