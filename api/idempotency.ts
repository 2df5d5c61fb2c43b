import { createHash } from 'node:crypto';
import { Prisma, type PrismaClient } from '@prisma/client';
import { isUniqueViolation } from '../store/index.js';
import type { RequestHandler, Response } from 'express';
import { canonicalJson } from '../definitions/index.js';
import { authOf } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

const KEEP_MS = 24 * 60 * 60 * 1000;
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;
const IN_PROGRESS = 0;

export interface IdempotencyOptions {
  /**
   * Headers a replay sets again, derived from the kept status and body (only those two are
   * kept): the `Location` of a job the first request started, for example.
   */
  readonly replayHeaders?: (status: number, body: Prisma.JsonValue) => Record<string, string>;
}

/**
 * `Idempotency-Key` on any authenticated POST: the first response (2xx or 4xx) is kept for 24
 * hours with a hash of the request body (and of the query string, when there is one) and
 * replayed for a repeat (`Idempotent-Replayed: true`). The same key with a different body is
 * refused (422); a repeat that arrives while the first is still running gets 409. A 5xx is not
 * kept, so the client can retry with the same key. It needs the parsed body: the app mounts it
 * after the JSON parser, and routes that parse their own bodies (the CSV import) after theirs.
 */
export function idempotency(
  prisma: PrismaClient,
  options: IdempotencyOptions = {},
): RequestHandler {
  return async (req, res, next) => {
    const given = req.headers['idempotency-key'];
    const auth = authOf(req);
    if (req.method !== 'POST' || given === undefined || !auth) {
      next();
      return;
    }
    if (typeof given !== 'string' || !VALID_KEY.test(given))
      throw new HttpProblem(
        400,
        `${PROBLEM_BASE}bad-idempotency-key`,
        'Bad Idempotency-Key',
        'Idempotency-Key must be 1 to 255 visible ASCII characters, for example a UUID.',
      );
    const key = `${auth.workspaceId}:${req.method}:${req.path}:${given}`;
    const body: unknown = req.body ?? null;
    // `?map=` changes what a CSV import does; without a query the hash is the body's alone.
    const query = Object.keys(req.query).length > 0 ? req.query : null;
    const requestHash = createHash('sha256')
      .update(canonicalJson(query ? { body, query } : body))
      .digest('hex');

    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await prisma.idempotencyRecord.findUnique({ where: { key } });
      if (existing && existing.createdAt.getTime() < Date.now() - KEEP_MS) {
        await prisma.idempotencyRecord.deleteMany({ where: { key } });
      } else if (existing) {
        replay(res, existing, requestHash, options);
        return;
      }
      try {
        await prisma.idempotencyRecord.create({ data: { key, requestHash, status: IN_PROGRESS } });
      } catch (error) {
        if (isUniqueViolation(error)) continue;
        throw error;
      }
      recordResponse(prisma, res, key);
      next();
      return;
    }
    throw conflict();
  };
}

function replay(
  res: Response,
  record: { requestHash: string; status: number; body: Prisma.JsonValue },
  requestHash: string,
  options: IdempotencyOptions,
): void {
  if (record.requestHash !== requestHash)
    throw new HttpProblem(
      422,
      `${PROBLEM_BASE}idempotency-key-reused`,
      'Idempotency-Key reused',
      'This Idempotency-Key was already used with a different request body; use a new key.',
    );
  if (record.status === IN_PROGRESS) throw conflict();
  res.status(record.status).set('Idempotent-Replayed', 'true');
  res.set(options.replayHeaders?.(record.status, record.body) ?? {});
  if (record.body === null) {
    res.end();
    return;
  }
  res.type(record.status >= 400 ? 'application/problem+json' : 'application/json');
  res.send(JSON.stringify(record.body));
}

function conflict(): HttpProblem {
  return new HttpProblem(
    409,
    `${PROBLEM_BASE}idempotency-in-progress`,
    'Request in progress',
    'A request with this Idempotency-Key is still being processed; retry in a moment.',
  );
}

/** Stores the response before it is sent, so a repeat that follows at once is replayed. */
function recordResponse(prisma: PrismaClient, res: Response, key: string): void {
  let settled = false;
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    settled = true;
    const status = res.statusCode;
    const saving =
      status >= 500
        ? prisma.idempotencyRecord.deleteMany({ where: { key } })
        : prisma.idempotencyRecord.update({
            where: { key },
            data: {
              status,
              body:
                body === undefined || body === null
                  ? Prisma.JsonNull
                  : // Our own response body, serialised once to drop what JSON cannot carry.
                    (JSON.parse(JSON.stringify(body)) as Prisma.InputJsonValue),
            },
          });
    saving.then(
      () => send(body),
      () => send(body),
    );
    return res;
  };
  res.on('finish', () => {
    if (!settled)
      void prisma.idempotencyRecord.deleteMany({ where: { key } }).catch(() => undefined);
  });
}
