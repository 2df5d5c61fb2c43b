import type { PrismaClient, Workspace } from '@prisma/client';
import { Router } from 'express';
import { DEFAULT_WORKSPACE_ID } from '../store/index.js';
import { createWorkspaceWithAdminKey } from './auth/index.js';
import { HttpProblem, notFound, PROBLEM_BASE } from './problem.js';
import { shownOnce } from './idempotency.js';
import { CreateWorkspaceSchema, UpdateWorkspaceSchema } from './schemas/api-security.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const validateCreate = bodyValidator(CreateWorkspaceSchema);
const validateUpdate = bodyValidator(UpdateWorkspaceSchema);

/**
 * Workspaces are the tenant boundary. A key sees only its own workspace; creating new ones is
 * for the operator (an admin key of the default workspace), and returns the new workspace's
 * first admin key, shown once.
 */
export function workspacesRouter(prisma: PrismaClient): Router {
  const router = Router();

  router.get('/v1/workspaces', async (req, res) => {
    const own = await prisma.workspace.findUnique({ where: { id: workspaceOf(req) } });
    res.json({ data: own ? [view(own)] : [], nextCursor: null });
  });

  router.post('/v1/workspaces', async (req, res) => {
    if (workspaceOf(req) !== DEFAULT_WORKSPACE_ID)
      throw new HttpProblem(
        403,
        `${PROBLEM_BASE}forbidden`,
        'Forbidden',
        'Only an admin key of the default (operator) workspace can create workspaces.',
      );
    const body = validateCreate(req.body);
    const { workspace, key } = await createWorkspaceWithAdminKey(prisma, body.name);
    shownOnce(res, 'adminKey');
    res.status(201).json({ ...view(workspace), adminKey: key });
  });

  router.get('/v1/workspaces/:id', async (req, res) => {
    res.json(view(await own(prisma, workspaceOf(req), req.params.id)));
  });

  router.patch('/v1/workspaces/:id', async (req, res) => {
    await own(prisma, workspaceOf(req), req.params.id);
    const body = validateUpdate(req.body);
    const updated = await prisma.workspace.update({
      where: { id: req.params.id },
      data: { name: body.name },
    });
    res.json(view(updated));
  });

  return router;
}

/** Another workspace is answered exactly like one that does not exist. */
async function own(prisma: PrismaClient, callerWorkspace: string, id: string): Promise<Workspace> {
  const workspace =
    id === callerWorkspace ? await prisma.workspace.findUnique({ where: { id } }) : null;
  if (!workspace) throw notFound(`Workspace \`${id}\``);
  return workspace;
}

function view(w: Workspace) {
  return { id: w.id, name: w.name, createdAt: w.createdAt };
}
