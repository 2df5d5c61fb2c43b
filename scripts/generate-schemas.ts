import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { journeyJsonSchema, scoringModelJsonSchema } from '../definitions/index.js';

/**
 * Writes `definitions/schemas/*.json` from the TypeBox sources, for editors that follow
 * `$schema` and for reviewers; formatted like the rest of the repository. A test fails when
 * the committed files drift from the source: run `npm run schemas` after changing a schema.
 */
const files = {
  'journey.schema.json': journeyJsonSchema(),
  'scoring-model.schema.json': scoringModelJsonSchema(),
};
const dir = fileURLToPath(new URL('../definitions/schemas/', import.meta.url));
for (const [name, schema] of Object.entries(files)) {
  const path = `${dir}${name}`;
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(
    path,
    await prettier.format(JSON.stringify(schema), { ...options, parser: 'json' }),
  );
  console.log(`wrote definitions/schemas/${name}`);
}
