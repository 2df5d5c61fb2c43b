import type { ActivityDeps } from './deps.js';

export interface RecordEnrollmentInput {
  readonly enrollmentId: string;
  readonly status: 'active' | 'completed' | 'exited' | 'converted' | 'failed';
  readonly stepId: string | null;
}

/** Writes the enrollment's current status and step; safe to repeat. */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const finished = input.status !== 'active';
  await deps.prisma.enrollment.update({
    where: { id: input.enrollmentId },
    data: {
      status: input.status,
      currentStep: input.stepId,
      ...(finished ? { endedAt: new Date() } : {}),
    },
  });
}
