import type { ApiKey, PrismaClient } from '@prisma/client';
import { Router } from 'express';
import { createApiKey, isScope, type KeyStore } from './auth/index.js';
import { pageOf, pageResult } from './paging.js';
import { invalidInput, notFound } from './problem.js';
import { shownOnce } from './idempotency.js';
import { flagParam } from './query-params.js';
import { CreateApiKeySchema } from './schemas/api-security.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const validateCreate = bodyValidator(CreateApiKeySchema);

/** API keys of the caller's workspace: the key is in the creation response only; revocation is final. */
export function apiKeysRouter(prisma: PrismaClient, keys: KeyStore): Router {
  const router = Router();

  router.post('/v1/api-keys', async (req, res) => {
    const body = validateCreate(req.body);
    const created = await createApiKey(prisma, {
      workspaceId: workspaceOf(req),
      name: body.name,
      scope: body.scope,
    });
    shownOnce(res, 'key');
    res.status(201).json({ ...created, revokedAt: null, lastUsedAt: null });
  });

  router.get('/v1/api-keys', async (req, res) => {
    const page = pageOf(req);
    const revoked = req.query.revoked === undefined ? null : flagParam(req.query, 'revoked');
    const scope = req.query.scope;
    if (scope !== undefined && !isScope(scope))
      throw invalidInput('The filters have problems.', [
        {
          pointer: '/scope',
          code: 'bad-value',
          message: '`scope` must be admin, write or ingest.',
        },
      ]);
    const rows = await prisma.apiKey.findMany({
      where: {
        workspaceId: workspaceOf(req),
        ...(scope ? { scope } : {}),
        ...(revoked === null ? {} : { revokedAt: revoked ? { not: null } : null }),
        ...(page.after ? { id: { gt: page.after } } : {}),
      },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    res.json(pageResult(rows, page, view));
  });

  router.get('/v1/api-keys/:id', async (req, res) => {
    res.json(view(await find(prisma, workspaceOf(req), req.params.id)));
  });

  router.delete('/v1/api-keys/:id', async (req, res) => {
    const key = await find(prisma, workspaceOf(req), req.params.id);
    const revoked = await prisma.apiKey.update({
      where: { id: key.id },
      data: { revokedAt: key.revokedAt ?? new Date() },
    });
    keys.forget(key.id);
    res.json(view(revoked));
  });

  return router;
}

async function find(prisma: PrismaClient, workspaceId: string, id: string): Promise<ApiKey> {
  const key = await prisma.apiKey.findFirst({ where: { id, workspaceId } });
  if (!key) throw notFound(`API key \`${id}\``);
  return key;
}

function view(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    prefix: k.prefix,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
  };
}
