import express, { type Express } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { contactsRouter } from './contacts.router.js';
import { eventsRouter } from './events.router.js';
import { healthRouter, type ReadinessCheck } from './health.router.js';
import { journeysRouter } from './journeys.router.js';
import { mailboxRouter } from './mailbox.router.js';
import { HttpProblem, notFoundHandler, PROBLEM_BASE, problemHandler } from './problem.js';

export interface AppDeps {
  readonly engine: EngineDeps;
  readonly readiness: ReadinessCheck;
  /** Serve the embedded SMTP sink's mailbox. */
  readonly mailbox: boolean;
}

/** The HTTP API. Express 5 forwards rejected promises from handlers to the problem handler. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(healthRouter(deps.readiness));
  app.use((req, _res, next) => {
    if (
      req.method === 'POST' &&
      req.headers['content-length'] !== '0' &&
      !req.is('application/json')
    ) {
      next(
        new HttpProblem(
          415,
          `${PROBLEM_BASE}unsupported-media-type`,
          'Unsupported media type',
          'Send JSON with Content-Type: application/json.',
        ),
      );
      return;
    }
    next();
  });
  app.use(express.json({ limit: '512kb', strict: true }));
  app.use(eventsRouter(deps.engine));
  app.use(journeysRouter(deps.engine));
  app.use(contactsRouter(deps.engine));
  if (deps.mailbox) app.use(mailboxRouter(deps.engine.prisma));
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
