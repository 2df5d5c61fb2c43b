import { Prisma, type ImportJob } from '@prisma/client';
import { newId } from '../../store/index.js';
import type { EngineDeps } from '../deps.js';
import { routeInBackground } from '../route-stored.js';
import { storedColumnMapping } from './column-mapping.js';
import { parseCsv } from './csv.js';
import { eraseContact } from './erase.js';
import { isBlankRow, rowKeys } from './erase-import-rows.js';
import { columnTarget, IMPORT_CHUNK, importContacts, type RowProblem } from './import.js';

/** A job as the API shows it; the CSV itself is never shown again, nor who runs it. */
export type ImportJobRow = Omit<ImportJob, 'csv' | 'owner' | 'leaseUntil'>;

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

/** How long a process's claim on a job holds without being renewed. */
const LEASE_MS = 60_000;
/** How often a running job's claim is renewed, and how often unclaimed jobs are looked for. */
const RENEW_MS = 15_000;
/** When a claim made or renewed now runs out, and whether a job's claim has (database time). */
const LEASE_END = Prisma.sql`(now() AT TIME ZONE 'UTC') + ${LEASE_MS}::float8 * interval '1 millisecond'`;
const LEASE_OVER = Prisma.sql`lease_until < (now() AT TIME ZONE 'UTC')`;

/**
 * On API start, and every `scanMs` after: jobs queued or running that no live process holds (a
 * stopped process released them, a crashed one's claim ran out) go on from `doneRows`. A chunk
 * cut short by a crash is imported again, which stores nothing twice (each row's messageId is a
 * hash of its content). Returns the stopper: it lets the chunk in hand finish, stops there and
 * releases the claims, so the next start goes on at once.
 */
export function resumeImportJobs(
  deps: EngineDeps,
  options: {
    readonly scanMs?: number;
    /** Release every claim first: no other process can hold one (the embedded database). */
    readonly releaseAll?: boolean;
  } = {},
): () => Promise<void> {
  const runner = runnerOf(deps);
  const release = options.releaseAll
    ? deps.prisma.$executeRaw`
        UPDATE import_jobs SET owner = NULL, lease_until = NULL
        WHERE status = 'running' AND owner IS NOT NULL`.catch((error: unknown) =>
        console.error('[drumbeat] releasing CSV import claims failed:', error),
      )
    : Promise.resolve();
  const scan = () =>
    deps.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM import_jobs
      WHERE status IN ('queued', 'running') AND (owner IS NULL OR ${LEASE_OVER})`
      .then((jobs) => jobs.forEach((j) => runner.start(j.id)))
      .catch((error: unknown) => console.error('[drumbeat] resuming CSV imports failed:', error));
  let scanning = release.then(scan);
  const timer = setInterval(
    () => {
      scanning = scanning.then(scan);
    },
    options.scanMs ?? RENEW_MS * 2,
  );
  timer.unref();
  return async () => {
    clearInterval(timer);
    await scanning;
    await runner.stop();
  };
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
  const state = { stopping: false, owner: newId() };
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
      // What this process leaves running, the next process to look takes at once.
      await deps.prisma.$executeRaw`
        UPDATE import_jobs SET owner = NULL, lease_until = NULL
        WHERE owner = ${state.owner} AND status = 'running'`.catch(() => undefined);
      // A later start on the same database gets a runner of its own.
      if (runners.get(deps.prisma) === runner) runners.delete(deps.prisma);
    },
  };
  runners.set(deps.prisma, runner);
  return runner;
}

/**
 * Claims the job for this process: a queued job, or a running one nobody holds or whose holder's
 * claim ran out. False when another live process holds it (or it has ended).
 */
async function claim(deps: EngineDeps, jobId: string, owner: string): Promise<boolean> {
  const claimed = await deps.prisma.$executeRaw`
    UPDATE import_jobs SET status = 'running', owner = ${owner},
      lease_until = ${LEASE_END}
    WHERE id = ${jobId} AND status IN ('queued', 'running')
      AND (owner IS NULL OR owner = ${owner} OR ${LEASE_OVER})`;
  return claimed > 0;
}

/**
 * A run that has counted no chunk for this long is stuck (a statement that never returns): its
 * claim is no longer renewed, so it runs out and another process takes the job over.
 */
const STALLED_MS = 5 * 60_000;

/**
 * Keeps this process's claim on the job while it runs it and makes progress (`progress()` is
 * when it last did); returns the stopper.
 */
function renewing(
  deps: EngineDeps,
  jobId: string,
  owner: string,
  progress: () => number,
): () => void {
  const timer = setInterval(() => {
    if (Date.now() - progress() > STALLED_MS) return;
    deps.prisma.$executeRaw`
      UPDATE import_jobs SET lease_until = ${LEASE_END}
      WHERE id = ${jobId} AND owner = ${owner}`.catch(() => undefined);
  }, RENEW_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Pauses before each further attempt at a chunk that failed; then the job fails. */
const CHUNK_RETRY_PAUSES_MS = [1_000, 5_000, 20_000];

async function retryingChunk<T>(
  state: { readonly stopping: boolean },
  work: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const pause = CHUNK_RETRY_PAUSES_MS[attempt];
      if (pause === undefined || state.stopping) throw error;
      console.error(`[drumbeat] a CSV import chunk failed; trying again in ${pause} ms:`, error);
      // A stop ends the pause: the job stays `running` for the next start.
      for (let waited = 0; waited < pause && !state.stopping; waited += 250)
        await new Promise((resolve) => setTimeout(resolve, 250));
      if (state.stopping) throw error;
    }
  }
}

/**
 * Imports the job's rows {@link IMPORT_CHUNK} at a time through `importContacts`, as the
 * synchronous route does, and records each chunk's counts with `doneRows` in one statement
 * guarded by the `doneRows` it started from and by this process's claim: a process whose claim
 * ran out (stalled past {@link LEASE_MS}) and was taken over counts nothing more and stops.
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
  state: { readonly stopping: boolean; readonly owner: string },
): Promise<void> {
  const { owner } = state;
  // Counted before the file is read, so an erase committed in between is seen as new.
  let erasures = await erasureCount(deps, jobId);
  if (!(await claim(deps, jobId, owner))) return; // another live process runs it
  const job = await deps.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } });
  let doneRows = job.doneRows;
  let progressAt = Date.now();
  const stopRenewing = renewing(deps, jobId, owner, () => progressAt);
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
      // A chunk that fails is imported again after a pause (a database restarting, a lock
      // timeout), before the job is failed and its file dropped: importing rows is idempotent
      // (each row's message id is a hash of the row). An erase meanwhile is caught below, as
      // for a chunk imported once.
      const report = await retryingChunk(state, () =>
        importContacts(deps, job.workspaceId, header, chunk, map),
      );
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
          warnings = warnings || ${JSON.stringify(report.warnings.map(shift))}::jsonb,
          lease_until = ${LEASE_END}
        WHERE id = ${jobId} AND done_rows = ${start} AND status = 'running' AND owner = ${owner}`;
      if (counted === 0) return; // another process took the job over (this one's claim ran out)
      doneRows = start + chunk.length;
      progressAt = Date.now();
    }
    await deps.prisma.importJob.updateMany({
      where: { id: jobId, status: 'running', owner },
      data: { status: 'done', csv: null, finishedAt: new Date(), owner: null, leaseUntil: null },
    });
  } catch (error) {
    // A stopping process may lose its database under the chunk in hand. That says nothing
    // about the job, which stays `running` for the next start (or another process) to go on
    // with.
    if (state.stopping) throw error;
    // Should the database be gone, the job stays `running`: its claim runs out and it is retried.
    await deps.prisma.importJob
      .updateMany({
        where: { id: jobId, status: 'running', owner },
        data: {
          owner: null,
          leaseUntil: null,
          status: 'failed',
          csv: null,
          finishedAt: new Date(),
          error: `The import stopped after ${doneRows} row(s): ${error instanceof Error ? error.message : String(error)}`,
        },
      })
      .catch((recording: unknown) =>
        console.error(`[drumbeat] CSV import ${jobId}: recording its failure failed:`, recording),
      );
    throw error;
  } finally {
    stopRenewing();
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
