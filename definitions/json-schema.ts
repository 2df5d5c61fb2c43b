import type { TSchema } from '@sinclair/typebox';
import { JourneySchema } from './journey.schema.js';
import { ScoringModelSchema } from './scoring.schema.js';

/**
 * The schemas as plain JSON Schema documents (draft 2020-12), as served by the API and
 * committed under `definitions/schemas/` for editors. JSON round-tripping drops TypeBox's
 * symbol-keyed metadata.
 */
export function journeyJsonSchema(): Record<string, unknown> {
  return plain(JourneySchema);
}

export function scoringModelJsonSchema(): Record<string, unknown> {
  return plain(ScoringModelSchema);
}

function plain(schema: TSchema): Record<string, unknown> {
  const copy: unknown = JSON.parse(JSON.stringify(schema));
  const body =
    typeof copy === 'object' && copy !== null ? Object.fromEntries(Object.entries(copy)) : {};
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...body };
}
