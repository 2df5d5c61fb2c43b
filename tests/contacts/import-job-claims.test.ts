import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeImportJobs } from '../../engine/index.js';
import { newId } from '../../store/index.js';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';

/**
 * A background CSV import runs in one process at a time. A process that starts (or looks again
 * later) leaves alone a job another live process holds, and takes over one whose holder stopped
 * renewing its claim (it crashed), without waiting for a restart. Before, every process that
 * started ran every unfinished job, the one a live process was running included.
 */
describe.each(databaseVariants())('claims on background imports (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
  });
  afterAll(async () => engine?.cleanup());

  /** A job of `emails`, in a workspace of its own, running under `owner`'s claim for a minute. */
  async function runningJob(workspaceName: string, emails: string[], owner: string) {
    const workspace = await createWorkspace(apiClient(engine), workspaceName);
    const id = newId();
    await engine.deps.prisma.importJob.create({
      data: {
        id,
        workspaceId: workspace.id,
        status: 'running',
        csv: ['email', ...emails].join('\n'),
        mapping: {},
        totalRows: emails.length,
        owner,
        leaseUntil: new Date(Date.now() + 60_000),
      },
    });
    return id;
  }

  it('leaves a job a live process holds, and takes it over once that claim runs out', async () => {
    const s = uniqueSuffix();
    const emails = [1, 2, 3].map((i) => `claimed-${i}-${s}@example.com`);
    const id = await runningJob(`claims-${s}`, emails, 'another-process');
    const job = () => engine.deps.prisma.importJob.findUniqueOrThrow({ where: { id } });

    // What the API does when it starts, looking again every 100 ms instead of every 30 s.
    const stop = resumeImportJobs(engine.deps, { scanMs: 100 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await job()).toMatchObject({
        status: 'running',
        doneRows: 0,
        owner: 'another-process',
      });
      expect(await engine.deps.prisma.contact.count({ where: { email: { in: emails } } })).toBe(0);

      // The other process died: its claim is no longer renewed and runs out.
      await engine.deps.prisma.importJob.update({
        where: { id },
        data: { leaseUntil: new Date(Date.now() - 1_000) },
      });
      const done = await eventually(
        async () => {
          const now = await job();
          return now.status === 'done' ? now : undefined;
        },
        30_000,
        'the job to be taken over and finished',
      );
      expect(done).toMatchObject({ doneRows: 3, imported: 3, owner: null, leaseUntil: null });
      expect(await engine.deps.prisma.contact.count({ where: { email: { in: emails } } })).toBe(3);
    } finally {
      await stop();
    }
  });

  it.runIf(variant === 'embedded')(
    'on the embedded database, takes a claim the last process left at once',
    async () => {
      // One process only: a claim still held is one a stop that timed out could not release.
      const s = uniqueSuffix();
      const id = await runningJob(`left-${s}`, [`left-${s}@example.com`], 'the-last-process');
      const stop = resumeImportJobs(engine.deps, { releaseAll: true, scanMs: 60_000 });
      try {
        const done = await eventually(
          async () => {
            const job = await engine.deps.prisma.importJob.findUniqueOrThrow({ where: { id } });
            return job.status === 'done' ? job : undefined;
          },
          20_000,
          'the job left claimed to be finished',
        );
        expect(done).toMatchObject({ doneRows: 1, imported: 1 });
      } finally {
        await stop();
      }
    },
  );
});
