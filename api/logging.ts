import type { RequestHandler } from 'express';
import { authOf } from './auth/index.js';
import { requestIdOf } from './request-id.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void;
}

/**
 * One JSON object per line on stdout. Callers pass only what is safe to keep: ids, route
 * patterns, statuses, durations; never bodies, headers, e-mail addresses or keys.
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  return {
    log(at, msg, fields = {}) {
      if (ORDER[at] < ORDER[level]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields })}\n`);
    },
  };
}

/**
 * The route pattern (`/v1/contacts/:idOrUserId`) rather than the URL, because URLs carry user
 * ids and e-mail addresses; query strings are never logged.
 */
export function routeOf(req: Parameters<RequestHandler>[0]): string {
  const route: unknown = req.route;
  if (typeof route === 'object' && route !== null && 'path' in route) {
    if (typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
    if (Array.isArray(route.path)) return route.path.map(String).join('|');
  }
  return 'unmatched';
}

/** Logs each request when it finishes, and hands the figures to `observe` (metrics). */
export function requestLogger(
  logger: Logger,
  observe: (route: string, method: string, status: number, seconds: number) => void,
): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      observe(route, req.method, res.statusCode, seconds);
      const auth = authOf(req);
      logger.log(res.statusCode >= 500 ? 'error' : 'info', 'request', {
        requestId: requestIdOf(res),
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 1000 * 10) / 10,
        ...(auth ? { workspaceId: auth.workspaceId, keyId: auth.keyId } : {}),
      });
    });
    next();
  };
}
