import { Prisma } from '@prisma/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Plan } from '../core/index.js';
import {
  enrollmentWorkflowId,
  ENTRY_KEY_ONCE,
  journeyWorkflow,
  type JourneyWorkflowInput,
} from '../workflows/index.js';
import type { EngineDeps } from './deps.js';

export interface EnrollRequest {
  readonly workspaceId: string;
  readonly journeyVersionId: string;
  readonly plan: Plan;
  readonly contactId: string;
  readonly trigger: JourneyWorkflowInput['trigger'];
}

export type EnrollOutcome =
  | { readonly enrolled: true; readonly enrollmentId: string }
  | {
      readonly enrolled: false;
      readonly enrollmentId: string;
      readonly reason: 'already-enrolled';
    };

/**
 * Enrolls a contact: records the enrollment, then starts its workflow under a deterministic id.
 * Both steps are idempotent, so a repeat (a duplicate event, a re-route after a crash) either
 * finds the enrollment already there or starts the workflow the first attempt did not reach.
 * A contact enters a journey version once; re-entry policies build on the entry key.
 */
export async function enroll(deps: EngineDeps, request: EnrollRequest): Promise<EnrollOutcome> {
  const enrollmentId = enrollmentWorkflowId(
    request.journeyVersionId,
    request.contactId,
    ENTRY_KEY_ONCE,
  );
  const existing = await deps.prisma.enrollment.findUnique({ where: { id: enrollmentId } });
  if (existing && existing.status !== 'pending')
    return { enrolled: false, enrollmentId, reason: 'already-enrolled' };
  if (!existing) {
    try {
      await deps.prisma.enrollment.create({
        data: {
          id: enrollmentId,
          workspaceId: request.workspaceId,
          journeyVersionId: request.journeyVersionId,
          contactId: request.contactId,
          entryKey: ENTRY_KEY_ONCE,
          status: 'pending',
          triggerEventId: request.trigger.eventId,
        },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        return { enrolled: false, enrollmentId, reason: 'already-enrolled' };
      }
      throw error;
    }
  }
  try {
    await deps.temporal.workflow.start(journeyWorkflow, {
      workflowId: enrollmentId,
      taskQueue: deps.taskQueue,
      args: [
        {
          workspaceId: request.workspaceId,
          journeyVersionId: request.journeyVersionId,
          contactId: request.contactId,
          plan: request.plan,
          trigger: request.trigger,
        },
      ],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  await deps.prisma.enrollment.updateMany({
    where: { id: enrollmentId, status: 'pending' },
    data: { status: 'active' },
  });
  return { enrolled: true, enrollmentId };
}
