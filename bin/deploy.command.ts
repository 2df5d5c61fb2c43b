import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/index.js';
import { validateJourney, validateScoringModel } from '../definitions/index.js';
import {
  keyOf,
  publishJourney,
  publishScoringModel,
  validationContext,
  type EngineDeps,
} from '../engine/index.js';
import { loadTemplates } from '../mail/index.js';
import { openDatabase } from '../store/index.js';
import { progressBar } from './progress.js';

type Kind = 'journey' | 'scoring model';

interface Definition {
  readonly file: string;
  readonly kind: Kind;
  readonly document: unknown;
}

/**
 * `drumbeat deploy <dir>`: validates every definition under the folder first (task assignees
 * against the workspace's teams and users, enroll steps against its journeys and the folder's)
 * and publishes nothing if any has a problem; then publishes through the engine, where a
 * definition whose compiled plan is unchanged is left alone. Prints what happened to each.
 */
export async function deploy(config: Config, dir: string, workspaceId: string): Promise<number> {
  const files = await jsonFiles(dir);
  if (files.length === 0) {
    console.error(`No .json definitions under ${dir}.`);
    return 2;
  }
  const templates = await loadTemplates(config.templatesDir);
  const documents: { readonly file: string; readonly document: unknown }[] = [];
  let invalid = 0;
  for (const file of files) {
    const name = relative(process.cwd(), file);
    try {
      documents.push({ file: name, document: JSON.parse(await readFile(file, 'utf8')) });
    } catch (error) {
      console.log(
        `✗ ${name}: not readable JSON (${error instanceof Error ? error.message : String(error)})`,
      );
      invalid++;
    }
  }

  const database = await openDatabase(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl }
      : { kind: 'embedded', dataDir: join(config.dataDir, 'db') },
  );
  // Publishing only writes to the database; the lazy connection is never opened.
  const connection = Connection.lazy({
    address: config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`,
  });
  const deps: EngineDeps = {
    prisma: database.prisma,
    sql: database.sql,
    temporal: new Client({ connection, namespace: config.temporalNamespace }),
    taskQueue: config.taskQueue,
    templates,
  };
  const summary = { published: 0, unchanged: 0 };
  const lines: string[] = [];
  try {
    // References (task assignees, journeys that enroll steps name) are checked against the
    // workspace before anything is published, so a missing one stops the whole deploy rather
    // than half of it. Journeys of this deploy count as existing: they are published with it.
    const deploying = documents.flatMap((d) =>
      kindOf(d.document) === 'journey' ? keyOf(d.document) : [],
    );
    const context = await validationContext(deps, workspaceId, deploying);
    const definitions: Definition[] = [];
    for (const { file, document } of documents) {
      const kind = kindOf(document);
      const result =
        kind === 'journey' ? validateJourney(document, context) : validateScoringModel(document);
      if (result.ok) {
        definitions.push({ file, kind, document });
        continue;
      }
      invalid++;
      console.log(`✗ ${file} (${kind}): ${result.problems.length} problem(s)`);
      for (const p of result.problems)
        console.log(`    ${p.pointer || '/'}  ${p.message}  [${p.code}]`);
    }
    if (invalid > 0) {
      console.log(
        `\n${invalid} of ${files.length} definition(s) have problems; nothing was published.`,
      );
      return 1;
    }
    const bar = progressBar(definitions.length, 'Publishing');
    try {
      for (const d of definitions) {
        const result =
          d.kind === 'journey'
            ? await publishJourney(deps, workspaceId, d.document, { deploying })
            : await publishScoringModel(deps, workspaceId, d.document);
        if (!result.ok) throw new Error(`${d.file} was valid a moment ago but is not now`);
        summary[result.created ? 'published' : 'unchanged']++;
        lines.push(
          `${result.created ? '↑' : '='} ${d.file} (${d.kind}): ${result.created ? `published version ${result.version.version}` : `unchanged (version ${result.version.version})`}`,
        );
        bar.tick(d.file);
      }
    } finally {
      bar.done();
    }
  } finally {
    await connection.close().catch(() => undefined);
    await database.close();
  }
  console.log(lines.join('\n'));
  console.log(
    `\n${documents.length} definition(s) valid; ${summary.published} published, ${summary.unchanged} unchanged (workspace ${workspaceId}).`,
  );
  return 0;
}

export function kindOf(document: unknown): Kind {
  return typeof document === 'object' &&
    document !== null &&
    ('engagement' in document || 'fit' in document) &&
    !('steps' in document)
    ? 'scoring model'
    : 'journey';
}

async function jsonFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
