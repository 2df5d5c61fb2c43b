import type { Request } from 'express';
import { authOf } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

/**
 * The workspace a request acts in: the one its API key belongs to. Routes ask through this one
 * function, so they never see another workspace's data by accident.
 */
export function workspaceOf(req: Request): string {
  const auth = authOf(req);
  if (!auth)
    throw new HttpProblem(
      401,
      `${PROBLEM_BASE}unauthenticated`,
      'Unauthenticated',
      'Send an API key: Authorization: Bearer <key>.',
    );
  return auth.workspaceId;
}
