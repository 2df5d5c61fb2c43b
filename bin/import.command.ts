import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { IMPORT_CHUNK, importContacts, type RowProblem } from '../engine/contacts/import.js';
import { COLUMN_MAPPING_FORMAT, parseColumnMapping } from '../engine/contacts/column-mapping.js';
import { parseCsv } from '../engine/contacts/csv.js';
import { scorePass } from '../engine/scorer.js';
import { DEFAULT_WORKSPACE_ID, openDatabase } from '../store/index.js';
import { progressBar } from './progress.js';

/**
 * `drumbeat import-contacts <file.csv> [--workspace id] [--map "Column:target,…"]`: the same
 * import as POST /v1/contacts/import (dedupe on email, idempotent re-imports), with a progress
 * bar. The identify events it stores are scored before it ends and routed to journeys when the
 * API next starts.
 */
export async function importContactsCommand(
  config: Config,
  file: string | undefined,
  options: Readonly<Record<string, string>>,
): Promise<number> {
  if (!file) {
    console.error('Give a CSV file: drumbeat import-contacts contacts.csv');
    return 2;
  }
  const parsed = parseCsv(await readFile(file, 'utf8'));
  if (!parsed.ok) {
    console.error(`${file}, line ${parsed.line}: ${parsed.reason}`);
    return 1;
  }
  const [header, ...records] = parsed.records;
  if (!header) {
    console.error(`${file} is empty.`);
    return 1;
  }
  const map =
    options.map === undefined ? new Map<string, string>() : parseColumnMapping(options.map);
  if (!map) {
    console.error(`--map must look like "${COLUMN_MAPPING_FORMAT}".`);
    return 2;
  }
  const workspaceId = options.workspace ?? DEFAULT_WORKSPACE_ID;
  const db = await openDatabase(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl }
      : { kind: 'embedded', dataDir: join(config.dataDir, 'db') },
  );
  const chunks = Math.ceil(records.length / IMPORT_CHUNK);
  const bar = progressBar(chunks, `importing ${records.length} row(s)`);
  let imported = 0;
  let updated = 0;
  const rejected: RowProblem[] = [];
  try {
    for (let start = 0; start < records.length; start += IMPORT_CHUNK) {
      const report = await importContacts(
        db,
        workspaceId,
        header,
        records.slice(start, start + IMPORT_CHUNK),
        map,
      );
      imported += report.imported;
      updated += report.updated;
      // Row numbers count from the chunk's start; shift them to the file's.
      rejected.push(...report.rejected.map((r) => ({ ...r, row: r.row + start })));
      bar.tick();
    }
    // The rows' events are scored here (the API's background scorer would, once it runs).
    while ((await scorePass(db.sql)).more);
  } finally {
    bar.done();
    await db.close();
  }
  console.log(
    `${imported} imported, ${updated} updated, ${rejected.length} rejected (workspace ${workspaceId}).`,
  );
  for (const r of rejected.slice(0, 50)) console.log(`  row ${r.row}: ${r.reason}`);
  if (rejected.length > 50) console.log(`  … and ${rejected.length - 50} more`);
  return rejected.length > 0 && imported + updated === 0 ? 1 : 0;
}
