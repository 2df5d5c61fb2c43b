// The workflow bundle's entry and the public surface of workflows/: the workflows the worker
// registers, and the messages and ids that clients use to talk to them.
export {
  journeyWorkflow,
  journeyWorkflowV2,
  journeyWorkflowV3,
  journeyWorkflowV4,
  journeyWorkflowV5,
  journeyWorkflowV6,
  type JourneyWorkflowInput,
  type JourneyWorkflowResult,
} from './journey.workflow.js';
export { audienceWorkflow, type AudienceWorkflowInput } from './audience.workflow.js';
export { rescoreWorkflow, type RescoreWorkflowInput } from './rescore.workflow.js';
export { awaitSignalWorkflow, echoWorkflow, pokeSignal } from './echo.workflow.js';
export {
  contactEventSignal,
  exitSignal,
  pauseSignal,
  resumeSignal,
  stateQuery,
  type ContactEvent,
  type LiveEnrollment,
} from './messages.js';
export { enrollmentWorkflowId, isOneOffRunId, oneOffRunId, publishRunId } from './ids.js';
