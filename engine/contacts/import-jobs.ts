import type { ImportJob } from '@prisma/client';
import { newId } from '../../store/index.js';
import type { EngineDeps } from '../deps.js';
import { routeInBackground } from '../route-stored.js';
import { storedColumnMapping } from './column-mapping.js';
import { parseCsv } from './csv.js';
import { eraseContact } from './erase.js';
import { isBlankRow, rowKeys } from './erase-import-rows.js';
import { columnTarget, IMPORT_CHUNK, importContacts, type RowProblem } from './import.js';

/** A job as the API shows it; the CSV itself is never shown again. */
export type ImportJobRow = Omit<ImportJob, 'csv'>;

/** Every column but the CSV, for reads that show a job. */
export const IMPORT_JOB_FIELDS = {
  id: true,
  workspaceId: true,
  status: true,
  mapping: true,
  totalRows: true,
  doneRows: true,
  imported: true,
  updated: true,
  rejected: true,
  warnings: true,
  error: true,
  createdAt: true,
  finishedAt: true,
} as const satisfies Record<keyof ImportJobRow, true>;

/**
 * Progress (`doneRows` of `totalRows`), counts, and with `details` the rows rejected so far and
 * the warnings, each `{ row, reason }` with the row's line number in the file.
 */
export function importJobView(job: ImportJobRow, details: boolean) {
  const rejected = Array.isArray(job.rejected) ? job.rejected : [];
  const warnings = Array.isArray(job.warnings) ? job.warnings : [];
  return {
    id: job.id,
    status: job.status,
    totalRows: job.totalRows,
    doneRows: job.doneRows,
    imported: job.imported,
    updated: job.updated,
    rejectedCount: rejected.length,
    warningCount: warnings.length,
    ...(details ? { rejected, warnings } : {}),
    mapping: job.mapping,
    error: job.error,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
}

/**
 * Stores a job for a CSV the caller has already parsed once (so a broken file is a 422 at
 * once, not a failed job later) and starts it in this process.
 */
export async function startImportJob(
  deps: EngineDeps,
  workspaceId: string,
  csv: string,
  map: ReadonlyMap<string, string>,
  totalRows: number,
): Promise<ImportJob> {
  const job = await deps.prisma.importJob.create({
    data: {
      id: newId(),
      workspaceId,
      status: 'queued',
      csv,
      mapping: Object.fromEntries(map),
      totalRows,
    },
  });
  runnerOf(deps).start(job.id);
  return job;
}

/**
 * On API start: jobs left queued or running by a stopped process go on from `doneRows`. A chunk
 * cut short by a crash is imported again, which stores nothing twice (each row's messageId is a
 * hash of its content). Returns the stopper: it lets the chunk in hand finish and stops there.
 */
export function resumeImportJobs(deps: EngineDeps): () => Promise<void> {
  const runner = runnerOf(deps);
  deps.prisma.importJob
    .findMany({ where: { status: { in: ['queued', 'running'] } }, select: { id: true } })
    .then((jobs) => jobs.forEach((j) => runner.start(j.id)))
    .catch((error: unknown) => console.error('[drumbeat] resuming CSV imports failed:', error));
  return () => runner.stop();
}

interface Runner {
  start(jobId: string): void;
  stop(): Promise<void>;
}

/** One runner per database: the jobs in hand, and whether the process is stopping. */
const runners = new WeakMap<object, Runner>();

function runnerOf(deps: EngineDeps): Runner {
  let runner = runners.get(deps.prisma);
  if (runner) return runner;
  const running = new Map<string, Promise<void>>();
  const state = { stopping: false };
  runner = {
    start(jobId) {
      if (state.stopping || running.has(jobId)) return;
      const done = runJob(deps, jobId, state)
        .catch((error: unknown) => console.error(`[drumbeat] CSV import ${jobId}:`, error))
        .finally(() => running.delete(jobId));
      running.set(jobId, done);
    },
    async stop() {
      state.stopping = true;
      await Promise.all(running.values());
    },
  };
  runners.set(deps.prisma, runner);
  return runner;
}

/**
 * Imports the job's rows {@link IMPORT_CHUNK} at a time through `importContacts`, as the
 * synchronous route does, and records each chunk's counts with `doneRows` in one statement
 * guarded by the `doneRows` it started from: if two processes resume one job, only one of them
 * counts a chunk and the other stops.
 *
 * An erase blanks its contact's rows in the stored file (erase-import-rows.ts), so after an
 * erase in the workspace the file is read again before the next chunk, and the copy in hand
 * does not bring the person back. An erase that commits while a chunk is being imported may
 * still have been undone by it: the rows of that chunk the erase blanked are looked up after
 * the chunk, and the contacts they led to are erased too, before their events are routed.
 */
async function runJob(
  deps: EngineDeps,
  jobId: string,
  state: { readonly stopping: boolean },
): Promise<void> {
  // Counted before the file is read, so an erase committed in between is seen as new.
  let erasures = await erasureCount(deps, jobId);
  const job = await deps.prisma.importJob.update({
    where: { id: jobId },
    data: { status: 'running' },
  });
  let doneRows = job.doneRows;
  try {
    let [header = [], ...records] = recordsOf(job.csv);
    const map = storedColumnMapping(job.mapping);
    const reread = async (): Promise<boolean> => {
      const now = await erasureCount(deps, jobId);
      if (now === erasures) return false;
      erasures = now;
      const current = await deps.prisma.importJob.findUnique({
        where: { id: jobId },
        select: { csv: true },
      });
      [header = [], ...records] = recordsOf(current?.csv ?? null);
      return true;
    };
    while (doneRows < records.length) {
      if (state.stopping) return; // still `running`: the next start goes on from here
      await reread();
      const start = doneRows;
      const chunk = records.slice(start, start + IMPORT_CHUNK);
      const report = await importContacts(deps, job.workspaceId, header, chunk, map);
      if (await reread())
        await eraseAgain(deps, job.workspaceId, header, map, chunk, start, records);
      void routeInBackground(deps, report.newEventIds);
      // Row numbers count from the chunk's start; shift them to the file's.
      const shift = (p: RowProblem) => ({ row: p.row + start, reason: p.reason });
      const counted = await deps.prisma.$executeRaw`
        UPDATE import_jobs SET
          done_rows = ${start + chunk.length},
          imported = imported + ${report.imported},
          updated = updated + ${report.updated},
          rejected = rejected || ${JSON.stringify(report.rejected.map(shift))}::jsonb,
          warnings = warnings || ${JSON.stringify(report.warnings.map(shift))}::jsonb
        WHERE id = ${jobId} AND done_rows = ${start} AND status = 'running'`;
      if (counted === 0) return; // another process counted this chunk
      doneRows = start + chunk.length;
    }
    await deps.prisma.importJob.updateMany({
      where: { id: jobId, status: 'running' },
      data: { status: 'done', csv: null, finishedAt: new Date() },
    });
  } catch (error) {
    // A stopping process may lose its database under the chunk in hand. That says nothing
    // about the job, which stays `running` for the next start (or for another process that
    // resumed it too) to go on with.
    if (state.stopping) throw error;
    await deps.prisma.importJob.updateMany({
      where: { id: jobId, status: 'running' },
      data: {
        status: 'failed',
        csv: null,
        finishedAt: new Date(),
        error: `The import stopped after ${doneRows} row(s): ${error instanceof Error ? error.message : String(error)}`,
      },
    });
    throw error;
  }
}

/**
 * Erases the contacts that rows of the chunk just imported lead to, when an erase blanked
 * those rows in the file meanwhile (`records` is the file as read after the chunk): the import
 * may have written the person again after the erase.
 */
async function eraseAgain(
  deps: EngineDeps,
  workspaceId: string,
  header: readonly string[],
  map: ReadonlyMap<string, string>,
  chunk: readonly (readonly string[])[],
  start: number,
  records: readonly (readonly string[])[],
): Promise<void> {
  const targets = header.map((h) => columnTarget(h, map));
  const keys = chunk
    .filter((values, i) => !isBlankRow(values) && isBlankRow(records[start + i] ?? []))
    .map((values) => rowKeys(targets, values));
  if (keys.length === 0) return;
  const again = await deps.prisma.contact.findMany({
    where: {
      workspaceId,
      OR: keys.flatMap((k) => [
        ...(k.emailKey === null ? [] : [{ emailKey: k.emailKey }]),
        ...(k.userId === null ? [] : [{ userId: k.userId }]),
      ]),
    },
    select: { id: true },
  });
  // A contact erased already but written again by the chunk is cleared again.
  for (const contact of again) await eraseContact(deps, workspaceId, contact.id, { again: true });
}

function recordsOf(csv: string | null): string[][] {
  const parsed = parseCsv(csv ?? '');
  if (!parsed.ok) throw new Error(`line ${parsed.line}: ${parsed.reason}`);
  return parsed.records;
}

/** Erasures in the job's workspace so far; they only ever grow. */
async function erasureCount(deps: EngineDeps, jobId: string): Promise<number> {
  const [row] = await deps.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM erasure_audits
    WHERE workspace_id = (SELECT workspace_id FROM import_jobs WHERE id = ${jobId})`;
  return row?.n ?? 0;
}
