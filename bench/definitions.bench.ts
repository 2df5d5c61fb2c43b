import { readdirSync, readFileSync } from 'node:fs';
import { compileJourney, journeySchemaValidator, validateJourney } from '../definitions/index.js';

/**
 * Validate+compile time per definition, for the examples and a generated 200-step journey,
 * beside AJV's schema-only validation of the same document in the same run: the ratio is what
 * the semantic checks and the compiler cost on top of the schema.
 */
export async function runDefinitionsBench(): Promise<void> {
  const templates = new Set(readdirSync('templates').map((f) => f.replace(/\.hbs$/, '')));
  const context = { templateExists: (name: string) => templates.has(name) };
  const documents: [string, unknown][] = readdirSync('examples')
    .filter((f) => f.endsWith('.json') && !f.includes('scoring'))
    .map((f) => [f, JSON.parse(readFileSync(`examples/${f}`, 'utf8'))]);
  documents.push(['generated 200 steps', generatedJourney(200)]);

  const schemaOnly = journeySchemaValidator(); // compiled once, outside the timings
  console.log('definitions: validate+compile vs AJV schema-only (median per document)');
  for (const [name, doc] of documents) {
    const full = median(() => {
      const result = validateJourney(doc, context);
      if (!result.ok) throw new Error(`${name} is invalid: ${JSON.stringify(result.problems[0])}`);
      compileJourney(result.value);
    });
    const ajv = median(() => void schemaOnly(doc));
    console.log(
      `  ${name.padEnd(26)} ${fmt(full)}  ajv ${fmt(ajv)}  ratio ${(full / ajv).toFixed(1)}x`,
    );
  }
  await Promise.resolve();
}

function median(run: () => void): number {
  for (let i = 0; i < 20; i++) run();
  const times: number[] = [];
  for (let round = 0; round < 15; round++) {
    const started = performance.now();
    for (let i = 0; i < 20; i++) run();
    times.push((performance.now() - started) / 20);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0).padStart(5)} µs` : `${ms.toFixed(2).padStart(5)} ms`;
}

/** A long but realistic journey: emails, waits and branches in turn, every branch joining back. */
export function generatedJourney(size: number): unknown {
  const steps = Array.from({ length: size }, (_, i) => {
    const id = `s${i}`;
    switch (i % 4) {
      case 0:
        return { id, type: 'sendEmail', template: 'tips', category: 'nurture' };
      case 1:
        return { id, type: 'wait', duration: 'P1D' };
      case 2:
        return {
          id,
          type: 'branch',
          cases: [
            {
              condition: { type: 'emailActivity', step: `s${i - 2}`, activity: 'opened' },
              next: `s${i + 1}`,
            },
          ],
          else: `s${i + 1}`,
        };
      default:
        return { id, type: 'updateTags', add: [`touched-${i}`] };
    }
  });
  return { id: 'generated', name: 'Generated', triggers: [{ type: 'event', event: 'go' }], steps };
}
