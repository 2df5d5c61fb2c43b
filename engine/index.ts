export type { EngineDeps } from './deps.js';
export { enroll, type EnrollOutcome, type EnrollRequest } from './enroll.js';
export { ingest, type IncomingMessage, type IngestResult } from './ingest.js';
export { publishJourney, journeysTriggeredBy, planOf, type PublishResult } from './journeys.js';
export { routeEvent, routePendingEvents, type RouteResult } from './route.js';
