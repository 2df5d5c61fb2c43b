import type { Prisma } from '@prisma/client';
import type { ActivityDeps } from './deps.js';

export interface LogEntry {
  readonly seq: number;
  /** Workflow time, epoch ms. */
  readonly at: number;
  /** `branch`, `goalMet` and `exitMet` carry the case or criterion taken and the values read. */
  readonly kind:
    | 'entered'
    | 'branch'
    | 'goalMet'
    | 'exitMet'
    | 'action'
    | 'actionFailed'
    | 'wait'
    | 'woke'
    | 'event'
    | 'paused'
    | 'deferred'
    | 'resumed'
    | 'finished';
  readonly stepId: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RecordEnrollmentInput {
  readonly enrollmentId: string;
  readonly status: 'active' | 'completed' | 'exited' | 'converted' | 'failed';
  readonly stepId: string | null;
  readonly reason?: string | null;
  /** Log entries since the last record; `seq` makes a retried write insert nothing twice. */
  readonly log?: readonly LogEntry[];
}

/** Writes the enrollment's status, step and new log entries; safe to repeat. */
export async function recordEnrollment(
  deps: ActivityDeps,
  input: RecordEnrollmentInput,
): Promise<void> {
  const finished = input.status !== 'active';
  const log = input.log ?? [];
  await deps.prisma.$transaction([
    deps.prisma.enrollmentLogEntry.createMany({
      data: log.map((e) => ({
        enrollmentId: input.enrollmentId,
        seq: e.seq,
        at: new Date(e.at),
        kind: e.kind,
        stepId: e.stepId,
        detail: JSON.parse(JSON.stringify(e.detail)) as Prisma.InputJsonObject,
      })),
      skipDuplicates: true,
    }),
    deps.prisma.enrollment.update({
      where: { id: input.enrollmentId },
      data: {
        status: input.status,
        currentStep: input.stepId,
        ...(finished ? { endedAt: new Date() } : {}),
      },
    }),
  ]);
}
