import type { ErrorRequestHandler, RequestHandler } from 'express';
import { requestIdOf } from './request-id.js';

/**
 * RFC 9457 problem details. Every error the API returns has this shape, with `errors` listing
 * each problem's JSON pointer when the input was at fault.
 */
export interface ProblemItem {
  readonly pointer: string;
  readonly code: string;
  readonly detail: string;
}

export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly ProblemItem[] = [],
  ) {
    super(detail);
  }
}

export const PROBLEM_BASE = 'https://drumbeat.dev/problems/';

export function invalidInput(
  detail: string,
  errors: readonly { pointer: string; code: string; message: string }[],
): HttpProblem {
  return new HttpProblem(
    422,
    `${PROBLEM_BASE}invalid-input`,
    'The request has problems',
    detail,
    errors.map((e) => ({ pointer: e.pointer, code: e.code, detail: e.message })),
  );
}

/** An address (path or query) that cannot name anything: a broken %-escape, a NUL. */
export function badAddress(detail: string): HttpProblem {
  return new HttpProblem(400, `${PROBLEM_BASE}bad-address`, 'Bad address', detail);
}

export function notFound(what: string): HttpProblem {
  return new HttpProblem(404, `${PROBLEM_BASE}not-found`, 'Not found', `${what} does not exist.`);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(
    new HttpProblem(
      404,
      `${PROBLEM_BASE}not-found`,
      'Not found',
      `There is no ${req.method} ${req.path} in this API.`,
    ),
  );
};

/**
 * Turns any error into problem+json; unexpected ones are reported (with the request id the
 * client sees, so the two can be matched) and hidden behind a 500.
 */
export function createProblemHandler(
  report: (error: unknown, requestId: string | null) => void,
): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = toProblem(error);
    const requestId = requestIdOf(res);
    if (problem.status >= 500) report(error, requestId);
    res
      .status(problem.status)
      .type('application/problem+json')
      .json({
        type: problem.type,
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        // The path only: query strings can carry personal data.
        instance: req.path,
        ...(requestId ? { requestId } : {}),
        ...(problem.errors.length > 0 ? { errors: problem.errors } : {}),
      });
  };
}

export const problemHandler: ErrorRequestHandler = createProblemHandler((error) =>
  console.error('[api] request failed:', error),
);

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (isBodyParserError(error)) {
    if (error.type === 'entity.too.large') {
      return new HttpProblem(
        413,
        `${PROBLEM_BASE}too-large`,
        'Request body too large',
        'The request body is larger than this endpoint accepts.',
        [
          {
            pointer: '',
            code: 'too-large',
            detail: 'Send fewer messages or rows per request (batch in parts).',
          },
        ],
      );
    }
    if (error.type === 'entity.parse.failed') {
      return new HttpProblem(
        400,
        `${PROBLEM_BASE}malformed-json`,
        'Malformed JSON',
        'The request body is not valid JSON.',
        [{ pointer: '', code: 'malformed-json', detail: 'The body could not be parsed as JSON.' }],
      );
    }
    return new HttpProblem(
      error.status ?? 400,
      `${PROBLEM_BASE}bad-request`,
      'Bad request',
      'The request body could not be read.',
    );
  }
  // Other request errors the body parsers raise with a status of their own: a charset other
  // than UTF-8 (415), a body that is not the encoding its Content-Encoding names (400).
  if (isClientError(error)) {
    const unsupported = error.status === 415;
    return new HttpProblem(
      error.status,
      `${PROBLEM_BASE}${unsupported ? 'unsupported-media-type' : 'bad-request'}`,
      unsupported ? 'Unsupported media type' : 'Bad request',
      unsupported
        ? 'Send the body as UTF-8 JSON (Content-Type: application/json; charset=utf-8).'
        : 'The request body could not be read.',
      [
        {
          pointer: '',
          code: unsupported ? 'unsupported-charset' : 'unreadable-body',
          detail: error.message,
        },
      ],
    );
  }
  // The router decodes path parameters and refuses a broken escape (`/v1/contacts/%E0`) with
  // a URIError marked 400.
  if (error instanceof URIError)
    return badAddress(
      'The address has a broken %-escape; encode ids and filters as UTF-8 (encodeURIComponent).',
    );
  return new HttpProblem(
    500,
    `${PROBLEM_BASE}internal`,
    'Internal error',
    'Something went wrong on our side; nothing was lost and the request can be retried.',
  );
}

/** An http-errors error the request caused (`expose`d, status 4xx), such as body-parser's. */
function isClientError(error: unknown): error is { status: number; message: string } {
  return (
    error instanceof Error &&
    'expose' in error &&
    error.expose === true &&
    'status' in error &&
    typeof error.status === 'number' &&
    error.status >= 400 &&
    error.status < 500
  );
}

function isBodyParserError(error: unknown): error is { type: string; status?: number } {
  return (
    typeof error === 'object' &&
    error !== null &&
    'type' in error &&
    typeof error.type === 'string' &&
    error.type.startsWith('entity.')
  );
}
