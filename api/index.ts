export { createApp, type AppDeps } from './app.js';
export { HttpProblem, type ProblemItem } from './problem.js';
export {
  ensureDevApiKey,
  createApiKey,
  createWorkspaceWithAdminKey,
  type Scope,
} from './auth/index.js';
export { createLogger, type Logger, type LogLevel } from './logging.js';
export { listRoutes, type RouteInfo } from './routes.js';
