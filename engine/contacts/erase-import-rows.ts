import type { Prisma } from '@prisma/client';
import { emailKeyOf } from '../../mail/index.js';
import { isRecord } from '../contact-view.js';
import { toJson } from '../json.js';
import { csvRecord, parseCsv } from './csv.js';
import { storedColumnMapping } from './column-mapping.js';
import { cellText, columnTarget, type ColumnTarget } from './import.js';

/** What an erase leaves of a row: a blank line, which imports skip. */
const BLANK_ROW: readonly string[] = [''];

/** What an erased contact's rejected row says instead of its reason, which may quote a value. */
const ERASED_ROW_REASON = 'This row was removed: its contact was erased.';

/** Whose rows to take out: the contact as it was before the erase cleared it. */
export interface ErasedPerson {
  readonly workspaceId: string;
  readonly userId: string | null;
  readonly emailKey: string | null;
}

/**
 * Takes an erased contact's rows out of the CSV files that unfinished import jobs keep (a job
 * drops its file when it ends). A row is the contact's when its email column has the contact's
 * address (ignoring case and spaces) or its user id column the contact's user id. Each becomes
 * a blank line, which imports skip: row numbers, `totalRows` and `doneRows` (where a resumed
 * job goes on from) all still hold, and the runner, which reads the file again after an erase,
 * does not import the person again. Call it in the erase's transaction, before the contact's
 * email and user id are cleared. Returns the number of rows taken out.
 */
export async function eraseImportRows(
  tx: Prisma.TransactionClient,
  person: ErasedPerson,
): Promise<number> {
  if (person.userId === null && person.emailKey === null) return 0;
  // Locked: a runner counting a chunk (it appends to `rejected`) waits for this rewrite, and a
  // job that finished meanwhile (its file dropped) is not given the file back.
  await tx.$executeRawUnsafe(
    `SELECT 1 FROM import_jobs WHERE workspace_id = $1 AND csv IS NOT NULL ORDER BY id FOR UPDATE`,
    person.workspaceId,
  );
  const jobs = await tx.importJob.findMany({
    where: { workspaceId: person.workspaceId, csv: { not: null } },
    select: { id: true, csv: true, mapping: true, rejected: true },
  });
  let erased = 0;
  for (const job of jobs) {
    const parsed = parseCsv(job.csv ?? '');
    if (!parsed.ok) continue; // never started: such a file is refused before a job is made
    const [header = [], ...records] = parsed.records;
    const map = storedColumnMapping(job.mapping);
    const targets = header.map((h) => columnTarget(h, map));
    const rows = new Set<number>();
    const kept = records.map((values, i) => {
      const keys = rowKeys(targets, values);
      const theirs =
        (keys.emailKey !== null && keys.emailKey === person.emailKey) ||
        (keys.userId !== null && keys.userId === person.userId);
      if (!theirs) return values;
      rows.add(i + 2); // row numbers as the import reports them: the header is row 1
      return BLANK_ROW;
    });
    if (rows.size === 0) continue;
    const rejected = (Array.isArray(job.rejected) ? job.rejected : []).map((problem) =>
      isRecord(problem) && typeof problem.row === 'number' && rows.has(problem.row)
        ? { row: problem.row, reason: ERASED_ROW_REASON }
        : problem,
    );
    await tx.importJob.update({
      where: { id: job.id },
      data: {
        csv: [header, ...kept].map(csvRecord).join(''),
        rejected: toJson(rejected),
      },
    });
    erased += rows.size;
  }
  return erased;
}

/** The email (as its key: no case, no spaces) and user id a CSV row names, as the import reads them. */
export function rowKeys(
  targets: readonly ColumnTarget[],
  values: readonly string[],
): { readonly emailKey: string | null; readonly userId: string | null } {
  let emailKey: string | null = null;
  let userId: string | null = null;
  for (const [c, target] of targets.entries()) {
    const value = cellText(values[c] ?? '');
    if (value === '') continue;
    if (target.kind === 'email') emailKey = emailKeyOf(value);
    if (target.kind === 'userId') userId = value;
  }
  return { emailKey, userId };
}

export function isBlankRow(values: readonly string[]): boolean {
  return values.length === 1 && values[0] === '';
}
