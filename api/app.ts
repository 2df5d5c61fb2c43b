import express, { type Express } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { httpRequests, httpRequestSeconds, rateLimited } from '../metrics/index.js';
import { apiKeysRouter } from './api-keys.router.js';
import { attributesRouter } from './attributes.router.js';
import { messagingPolicyRouter } from './messaging-policy.router.js';
import { authenticate, isPublicPath, KeyStore } from './auth/index.js';
import { addressGuard, bodyGuard } from './body-guard.js';
import { batchRouter } from './batch.router.js';
import { contactsRouter } from './contacts.router.js';
import { contactsCsvRouter } from './contacts-csv.router.js';
import { contactsWriteRouter } from './contacts-write.router.js';
import { contactTagsRouter } from './contact-tags.router.js';
import { subscriptionsRouter } from './subscriptions.router.js';
import { listsRouter } from './lists.router.js';
import { docsRouter } from './docs.router.js';
import { eventsRouter } from './events.router.js';
import { healthRouter, type ReadinessCheck } from './health.router.js';
import { idempotency } from './idempotency.js';
import { journeysRouter } from './journeys.router.js';
import { mailEventsRouter } from './mail-events.router.js';
import { createLogger, requestLogger, type Logger, type LogLevel } from './logging.js';
import { mailboxRouter } from './mailbox.router.js';
import { metricsRouter } from './metrics.router.js';
import { createProblemHandler, HttpProblem, notFoundHandler, PROBLEM_BASE } from './problem.js';
import { rateLimitPerKey, SharedBuckets, TokenBuckets, type RateLimit } from './rate-limit.js';
import { requestId } from './request-id.js';
import { scoresRouter } from './scores.router.js';
import { tasksRouter } from './tasks.router.js';
import { teamsRouter } from './teams.router.js';
import { templatesRouter } from './templates.router.js';
import { trackingRouter } from './tracking.router.js';
import { unsubscribeRouter } from './unsubscribe.router.js';
import { usersRouter } from './users.router.js';
import { securityHeaders } from './security-headers.js';
import { webhookSourcesRouter } from './webhook-sources.router.js';
import { hooksRouter } from './webhooks/hooks.router.js';
import { keepRawBody } from './webhooks/raw-body.js';
import { workspacesRouter } from './workspaces.router.js';

export interface AppDeps {
  readonly engine: EngineDeps;
  readonly readiness: ReadinessCheck;
  /** Serve the embedded SMTP sink's mailbox. */
  readonly mailbox: boolean;
  /** The address people reach the API at (webhook URLs, the OpenAPI `servers`). */
  readonly publicUrl?: string;
  readonly logger?: Logger;
  readonly rateLimit?: RateLimit;
  /** Keep rate-limit buckets in the database, shared by every API process (PostgreSQL). */
  readonly sharedRateLimits?: boolean;
  readonly bodyLimitKb?: number;
  readonly metricsToken?: string | null;
  /** Signs unsubscribe and tracking links (issue 6); those routes are off without it. */
  readonly secretKey?: string;
}

// Under Vitest, request logs would drown the test output; LOG_LEVEL still wins when set.
const DEFAULT_LOG_LEVEL: LogLevel = process.env.VITEST && !process.env.LOG_LEVEL ? 'warn' : 'info';

/**
 * The HTTP API. Order matters: request id and headers first, public operational routes, then
 * the key check, so every router registered below it is protected without doing anything.
 * Express 5 forwards rejected promises from handlers to the problem handler.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  const { prisma } = deps.engine;
  const publicUrl = deps.publicUrl ?? '';
  const logger = deps.logger ?? createLogger(DEFAULT_LOG_LEVEL);
  const keys = new KeyStore(prisma);
  const limit = deps.rateLimit ?? { perSecond: 1000, burst: 2000 };
  const buckets = deps.sharedRateLimits
    ? new SharedBuckets(deps.engine.sql, limit)
    : new TokenBuckets(limit);
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(requestId);
  app.use(securityHeaders({ https: publicUrl.startsWith('https:') }));
  app.use(
    requestLogger(logger, (route, method, status, seconds) => {
      httpRequests.inc({ method, route, status: String(status) });
      httpRequestSeconds.observe({ method, route }, seconds);
    }),
  );
  app.use(addressGuard);
  app.use(healthRouter(deps.readiness));
  app.use(metricsRouter(prisma, deps.metricsToken ?? null));
  app.use(docsRouter(app, publicUrl));
  app.use(authenticate(keys));
  app.use(rateLimitPerKey(buckets, () => rateLimited.inc({ by: 'key' })));
  // Email links (public paths /u/ and /t/); before the JSON-only check: one-click posts a form.
  const signing = { secretKey: deps.secretKey ?? '', publicUrl };
  if (deps.secretKey) app.use(unsubscribeRouter(deps.engine, signing));
  if (deps.secretKey) app.use(trackingRouter(deps.engine, signing));
  app.use(contactsCsvRouter(deps.engine)); // CSV import takes text/csv: before the JSON-only check
  app.use((req, _res, next) => {
    // Public pages outside /v1 (unsubscribe, tracking) take form posts and read their own bodies.
    if (
      !(isPublicPath(req.path) && !req.path.startsWith('/v1/')) &&
      req.method !== 'GET' &&
      req.method !== 'DELETE' &&
      hasBody(req) &&
      !req.is('application/json')
    ) {
      next(
        new HttpProblem(
          415,
          `${PROBLEM_BASE}unsupported-media-type`,
          'Unsupported media type',
          'Send JSON with Content-Type: application/json.',
          [
            {
              pointer: '',
              code: 'unsupported-media-type',
              detail: `The body was sent as ${req.headers['content-type'] ?? 'no declared type'}.`,
            },
          ],
        ),
      );
      return;
    }
    next();
  });
  app.use(
    express.json({ limit: `${deps.bodyLimitKb ?? 512}kb`, strict: true, verify: keepRawBody }),
  );
  app.use(bodyGuard);
  app.use(idempotency(prisma));

  // Routers: one registration per line.
  app.use(hooksRouter(deps.engine, buckets));
  app.use(eventsRouter(deps.engine));
  app.use(
    batchRouter(deps.engine, {
      exitBeforeRouting: process.env.DRUMBEAT_FAULT === 'exit-before-routing',
    }),
  );
  app.use(journeysRouter(deps.engine));
  app.use(scoresRouter(deps.engine));
  app.use(contactsRouter(deps.engine));
  app.use(contactsWriteRouter(deps.engine));
  app.use(contactTagsRouter(deps.engine));
  app.use(subscriptionsRouter(deps.engine));
  app.use(listsRouter(deps.engine));
  app.use(attributesRouter(deps.engine));
  app.use(messagingPolicyRouter(deps.engine));
  app.use(usersRouter(deps.engine));
  app.use(teamsRouter(deps.engine));
  app.use(tasksRouter(deps.engine));
  app.use(templatesRouter(deps.engine, signing));
  app.use(mailEventsRouter(deps.engine, signing.secretKey));
  app.use(workspacesRouter(prisma));
  app.use(apiKeysRouter(prisma, keys));
  app.use(webhookSourcesRouter(prisma, publicUrl));
  if (deps.mailbox) app.use(mailboxRouter(prisma));

  app.use(notFoundHandler);
  app.use(createProblemHandler((error, id) => logFailure(logger, error, id)));
  return app;
}

/**
 * Error messages can quote data (Prisma puts query arguments in them), so only the error's name,
 * code and stack frames are logged; the message itself only at LOG_LEVEL=debug.
 */
function logFailure(logger: Logger, error: unknown, requestId: string | null): void {
  const name = error instanceof Error ? error.name : typeof error;
  const code: unknown = error instanceof Error ? Reflect.get(error, 'code') : undefined;
  const frames = (error instanceof Error ? (error.stack ?? '') : '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .slice(0, 8)
    .map((line) => line.trim());
  logger.log('error', 'request failed', {
    requestId,
    error: name,
    ...(typeof code === 'string' ? { code } : {}),
    at: frames,
  });
  logger.log('debug', 'request failed (message)', {
    requestId,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Whether the request carries a body: `curl -X POST .../pause` sends neither a length nor a
 * chunked body, and has nothing to declare a type for (it was refused with a 415).
 */
function hasBody(req: express.Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
