export type { EngineDeps } from './deps.js';
export { enroll, type EnrollOutcome, type EnrollRequest } from './enroll.js';
export { enrollByHand, type HandEnrollment } from './enroll-by-hand.js';
export { ingest, type IncomingMessage, type IngestResult } from './ingest.js';
export {
  publishDraft,
  publishJourney,
  journeyInterest,
  journeysTriggeredBy,
  keyOf,
  planOf,
  templateExistence,
  attributeContext,
  validationContext,
  type PublishResult,
} from './journeys.js';
export {
  readStoredPlan,
  readVersionPlan,
  type StoredPlan,
  type UnreadableVersion,
} from './stored-plan.js';
export {
  routePendingEvents,
  runRoutingSweeper,
  unroutedEvents,
  type RouteResult,
} from './route.js';
export { changeJourneyStatus, type JourneyCommand, type LifecycleResult } from './lifecycle.js';
export { loadContactFacts } from './facts.js';
export { contactView, isRecord } from './contact-view.js';
export { acceptMessages, type AcceptResult, type AcceptedMessage } from './accept.js';
export {
  backgroundRoutingIdle,
  routeChanges,
  routeInBackground,
  routeStored,
} from './route-stored.js';
export { runScorer, scoreLags, settleScores } from './scorer.js';
export { resumeImportJobs } from './contacts/import-jobs.js';
export {
  publishScoringModel,
  applyScoringVersion,
  previewScoringModel,
  rescorePage,
  beginLateRescore,
  finishRescore,
  type LateRescoreStart,
  type PublishScoringResult,
  type RescorePageRequest,
  type StagePreview,
} from './scoring-models.js';
export { contactScores, type ContactScoreView } from './contact-score.js';
export { scoringPlanOf } from './scoring-plans.js';
export { explainEligibility, type Eligibility } from './eligibility.js';
export {
  AudienceRunError,
  enrollAudiencePage,
  listAudienceRuns,
  type AudiencePage,
  type AudiencePageRequest,
  type AudienceReason,
  type AudienceRunStatus,
  type AudienceRunView,
} from './audience.js';
export { syncJourneySchedules, scheduleId } from './schedules.js';
export {
  applyContactAction,
  type ContactAction,
  type ContactActionError,
  type ContactActionRequest,
  type ContactActionResult,
} from './contact-actions.js';
