import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { IMPORT_JOB_FIELDS, importJobView } from '../engine/contacts/import-jobs.js';
import { pageOf, pageResult } from './paging.js';
import { notFound } from './problem.js';
import { workspaceOf } from './workspace.js';

/**
 * Background CSV imports (started by `POST /v1/contacts/import` with `Prefer: respond-async`):
 * poll one for its progress and the rows rejected so far, or list the workspace's, newest last.
 */
export function importsRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.get('/v1/imports', async (req, res) => {
    const page = pageOf(req);
    const rows = await prisma.importJob.findMany({
      where: { workspaceId: workspaceOf(req), ...(page.after ? { id: { gt: page.after } } : {}) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
      select: IMPORT_JOB_FIELDS,
    });
    res.json(pageResult(rows, page, (job) => importJobView(job, false)));
  });

  router.get('/v1/imports/:id', async (req, res) => {
    const job = await prisma.importJob.findFirst({
      where: { id: req.params.id, workspaceId: workspaceOf(req) },
      select: IMPORT_JOB_FIELDS,
    });
    if (!job) throw notFound(`Import \`${req.params.id}\``);
    res.json(importJobView(job, true));
  });

  return router;
}
