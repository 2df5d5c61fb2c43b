import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';

const SAFE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Keeps a caller's X-Request-Id when it is a plain token, or makes one; echoed in the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const id = givenRequestId(req) ?? randomUUID();
  res.locals.requestId = id;
  res.set('X-Request-Id', id);
  next();
};

export function requestIdOf(res: Response): string | null {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : null;
}

/** The caller's own X-Request-Id when it is a plain token (1-64 of `A-Za-z0-9._:-`), else null. */
export function givenRequestId(req: Request): string | null {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE.test(given) ? given : null;
}
