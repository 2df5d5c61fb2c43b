import type { RequestHandler } from 'express';
import { DEFAULT_WORKSPACE_ID } from '../../store/index.js';
import { HttpProblem, PROBLEM_BASE } from '../problem.js';
import { DEFAULT_WORKSPACE_ONLY_PREFIXES, isPublicPath, requiredScope } from './access-rules.js';
import { setAuth } from './context.js';
import { credentialsFrom } from './credentials.js';
import type { KeyStore } from './key-store.js';
import { scopeAllows } from './keys.js';

/**
 * Every request needs a valid key unless its path is public (access-rules.ts). Routers added
 * later are covered without doing anything: the default scope is `write`.
 */
export function authenticate(keys: KeyStore): RequestHandler {
  return async (req, res, next) => {
    if (isPublicPath(req.path)) {
      next();
      return;
    }
    const secret = credentialsFrom(req.headers.authorization);
    const key = secret === null ? null : await keys.resolve(secret);
    if (!key) {
      res.set('WWW-Authenticate', 'Bearer realm="drumbeat", Basic realm="drumbeat"');
      throw new HttpProblem(
        401,
        `${PROBLEM_BASE}unauthenticated`,
        'Unauthenticated',
        secret === null
          ? 'Send an API key: Authorization: Bearer <key>.'
          : 'This API key is not valid or has been revoked.',
      );
    }
    // The routers match paths whatever their case (`/V1/API-KEYS` reaches `/v1/api-keys`), so
    // what a path may do is decided on its lower case too.
    const path = req.path.toLowerCase();
    if (
      key.workspaceId !== DEFAULT_WORKSPACE_ID &&
      DEFAULT_WORKSPACE_ONLY_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
    ) {
      // Answered like a route that does not exist, so nothing is revealed.
      throw new HttpProblem(
        404,
        `${PROBLEM_BASE}not-found`,
        'Not found',
        `There is no ${req.method} ${req.path} in this API.`,
      );
    }
    const needed = requiredScope(req.method, path);
    if (!scopeAllows(key.scope, needed)) {
      throw new HttpProblem(
        403,
        `${PROBLEM_BASE}forbidden`,
        'Forbidden',
        `This API key has the \`${key.scope}\` scope; this request needs \`${needed}\`.`,
      );
    }
    setAuth(req, { workspaceId: key.workspaceId, keyId: key.id, scope: key.scope });
    next();
  };
}
