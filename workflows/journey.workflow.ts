import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { advance, assertNever, initialState, type Command, type EnrollmentState, type Input, type Plan } from '../core/index.js';
import { exitSignal, stateQuery } from './messages.js';

export interface JourneyWorkflowInput {
  readonly workspaceId: string;
  readonly journeyVersionId: string;
  readonly contactId: string;
  /** The compiled plan of the pinned version: the enrollment never sees a later edit. */
  readonly plan: Plan;
  readonly trigger: { readonly eventId: string | null; readonly name: string | null; readonly properties: Readonly<Record<string, unknown>> };
}

export interface JourneyWorkflowResult {
  readonly outcome: 'completed' | 'exited';
  readonly reason: string | null;
}

/**
 * Activities: 30 s per attempt, retried with backoff for up to a day (SMTP outages, database
 * restarts). Each side effect is idempotent by (enrollment, step, iteration), so a retry after
 * a timeout cannot send twice.
 */
const { performAction, recordEnrollment } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/**
 * One contact's way through one journey version. A thin shell around the pure interpreter:
 * it carries out the interpreter's commands (activities, durable sleeps) and feeds back what
 * happened. An exit signal interrupts any wait at once.
 */
export async function journeyWorkflow(input: JourneyWorkflowInput): Promise<JourneyWorkflowResult> {
  const enrollmentId = workflowInfo().workflowId;
  let exitReason: string | null = null;
  let transition = advance(input.plan, initialState, { type: 'start' }, Date.now());
  setHandler(stateQuery, (): EnrollmentState => transition.state);
  setHandler(exitSignal, ({ reason }) => {
    exitReason ??= reason;
  });

  for (;;) {
    if (exitReason !== null) {
      await recordEnrollment({ enrollmentId, status: 'exited', stepId: transition.state.stepId });
      return { outcome: 'exited', reason: exitReason };
    }
    const next = await carryOut(transition.command);
    if (next === 'finished') return { outcome: transition.state.status === 'exited' ? 'exited' : 'completed', reason: null };
    if (next === 'interrupted') continue;
    transition = advance(input.plan, transition.state, next, Date.now());
  }

  async function carryOut(command: Command): Promise<Input | 'finished' | 'interrupted'> {
    switch (command.type) {
      case 'perform':
        await performAction({
          workspaceId: input.workspaceId,
          enrollmentId,
          contactId: input.contactId,
          stepId: command.stepId,
          iteration: command.iteration,
          action: command.action,
          trigger: input.trigger,
        });
        return { type: 'actionDone', stepId: command.stepId };
      case 'sleep': {
        await recordEnrollment({ enrollmentId, status: 'active', stepId: command.stepId });
        const interrupted = await condition(() => exitReason !== null, Math.max(0, command.until - Date.now()));
        return interrupted ? 'interrupted' : { type: 'timerFired' };
      }
      case 'finish':
        await recordEnrollment({ enrollmentId, status: command.outcome, stepId: command.stepId });
        return 'finished';
      default:
        return assertNever(command, 'command');
    }
  }
}
