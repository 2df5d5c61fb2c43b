import { createHash } from 'node:crypto';
import { Prisma, type PrismaClient } from '@prisma/client';
import { isUniqueViolation } from '../store/index.js';
import type { RequestHandler, Response } from 'express';
import { canonicalJson } from '../definitions/index.js';
import { authOf } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

const KEEP_MS = 24 * 60 * 60 * 1000;
/**
 * How long a request holds its key while it runs. Its row is settled when the response goes out;
 * one still in progress after this long was abandoned (the process stopped, the write failed),
 * and a repeat takes the key over instead of getting 409 until the row expires.
 */
const LEASE_MS = 60 * 1000;
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;
const IN_PROGRESS = 0;

export interface IdempotencyOptions {
  /**
   * Headers a replay sets again, derived from the kept status and body (only those two are
   * kept): the `Location` of a job the first request started, for example.
   */
  readonly replayHeaders?: (status: number, body: Prisma.JsonValue) => Record<string, string>;
}

/** Paths up to this length are kept as they are in an idempotency record's key. */
const MAX_KEPT_PATH = 512;

/**
 * `Idempotency-Key` on any authenticated POST: the first response (2xx or 4xx) is kept for 24
 * hours with a hash of the request body (and of the query string, when there is one) and
 * replayed for a repeat (`Idempotent-Replayed: true`). The same key with a different body is
 * refused (422); a repeat that arrives while the first is still running gets 409, for at most
 * `LEASE_MS` (after that the first is taken to have died, and the repeat runs). A 5xx is not
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
    // A long path (ids are user data) is kept as its hash: the key is the table's primary key,
    // whose index takes about 2,700 bytes an entry (a 3 KB path was a 500).
    const path =
      req.path.length > MAX_KEPT_PATH
        ? `sha256:${createHash('sha256').update(req.path).digest('hex')}`
        : req.path;
    // Per API key: an ingest key is public (shipped in web pages), and whoever holds it must
    // not be able to take a server's keys first and have its requests refused or replayed.
    const key = recordKey(auth, req.method, path, given);
    const body: unknown = req.body ?? null;
    // `?map=` changes what a CSV import does; without a query the hash is the body's alone.
    const query = Object.keys(req.query).length > 0 ? req.query : null;
    const requestHash = createHash('sha256')
      .update(canonicalJson(query ? { body, query } : body))
      .digest('hex');

    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await prisma.idempotencyRecord.findUnique({ where: { key } });
      if (existing && !stale(existing, Date.now())) {
        replay(res, existing, requestHash, options);
        return;
      }
      if (existing) {
        // Guarded by age, so a fresh row another request has just made in its place stays.
        const now = Date.now();
        await prisma.idempotencyRecord.deleteMany({
          where: {
            key,
            OR: [
              { createdAt: { lt: new Date(now - KEEP_MS) } },
              { status: IN_PROGRESS, createdAt: { lt: new Date(now - LEASE_MS) } },
            ],
          },
        });
      }
      const created = await prisma.idempotencyRecord
        .create({ data: { key, requestHash, status: IN_PROGRESS } })
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) return null;
          throw error;
        });
      if (!created) continue;
      recordResponse(prisma, res, { key, createdAt: created.createdAt });
      next();
      return;
    }
    throw conflict();
  };
}

/** Expired, or in progress past its lease: the key is free again. */
function stale(record: { status: number; createdAt: Date }, now: number): boolean {
  const age = now - record.createdAt.getTime();
  return age > KEEP_MS || (record.status === IN_PROGRESS && age > LEASE_MS);
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

/**
 * Stores the response before it is sent, so a repeat that follows at once is replayed. Only the
 * request's own row is written (`mine`): one that outlived its lease may have been taken over.
 */
function recordResponse(
  prisma: PrismaClient,
  res: Response,
  mine: { key: string; createdAt: Date },
): void {
  const own = { ...mine, status: IN_PROGRESS };
  // A response that is not kept (a 5xx, a failed write) frees the key; should that fail too,
  // the lease runs out and the retry takes the key over.
  const release = () => prisma.idempotencyRecord.deleteMany({ where: own }).catch(() => undefined);
  let settled = false;
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    settled = true;
    const status = res.statusCode;
    const saving =
      status >= 500
        ? release()
        : prisma.idempotencyRecord.updateMany({
            where: own,
            data: {
              status,
              body:
                body === undefined || body === null
                  ? Prisma.JsonNull
                  : // Our own response body, serialised once to drop what JSON cannot carry.
                    (JSON.parse(JSON.stringify(withoutSecret(res, body))) as Prisma.InputJsonValue),
            },
          });
    saving.then(
      () => send(body),
      () => release().then(() => send(body)),
    );
    return res;
  };
  res.on('finish', () => {
    if (!settled) void release();
  });
}

/**
 * Marks the response's `field` as a secret shown once (a new API key): its replay answers with
 * the field null, since keeping it for replays would store the key in plain text, where only its
 * hash is kept.
 */
export function shownOnce(res: Response, field: string): void {
  res.locals.shownOnce = field;
}

function withoutSecret(res: Response, body: unknown): unknown {
  const field: unknown = res.locals.shownOnce;
  if (typeof field !== 'string' || typeof body !== 'object' || body === null) return body;
  return { ...body, [field]: null };
}

/** The record of a request: per workspace, API key, method, path and Idempotency-Key. */
export function recordKey(
  auth: { readonly workspaceId: string; readonly keyId: string },
  method: string,
  path: string,
  given: string,
): string {
  return `${auth.workspaceId}:${auth.keyId}:${method}:${path}:${given}`;
}
