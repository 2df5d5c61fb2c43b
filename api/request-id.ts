import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

const SAFE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Keeps a caller's X-Request-Id when it is a plain token, or makes one; echoed in the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SAFE.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('X-Request-Id', id);
  next();
};

export function requestIdOf(res: Response): string | null {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : null;
}
