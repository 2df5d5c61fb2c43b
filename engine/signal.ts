import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/workflow';

/** Enrollment statuses whose workflow may still be running (`pending`: started, no step recorded yet). */
export const RUNNING_STATUSES = ['active', 'pending'] as const;

/**
 * Signals an enrollment's workflow. False when it has finished meanwhile (nothing left to
 * tell); any other failure is thrown.
 */
export async function signalEnrollment<Args extends unknown[]>(
  temporal: Client,
  enrollmentId: string,
  signal: SignalDefinition<Args>,
  ...args: Args
): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(enrollmentId).signal(signal, ...args);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
