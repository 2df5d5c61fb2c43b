import { ApplicationFailure } from '@temporalio/activity';
import {
  AudienceRunError,
  enrollAudiencePage,
  type AudiencePage,
  type AudiencePageRequest,
  type AudienceReason,
  type AudienceRunStatus,
} from '../engine/index.js';
import type { ActivityDeps } from './deps.js';

export interface AudienceRunStart {
  readonly runId: string;
  readonly workspaceId: string;
  readonly journeyId: string;
  readonly reason: AudienceReason;
}

/** Records that a pass over the audience began; repeating it changes nothing. */
export async function startAudienceRun(deps: ActivityDeps, input: AudienceRunStart): Promise<void> {
  await deps.prisma.audienceRun.upsert({
    where: { id: input.runId },
    create: {
      id: input.runId,
      workspaceId: input.workspaceId,
      journeyId: input.journeyId,
      reason: input.reason,
      status: 'running',
    },
    update: {},
  });
}

/** One page of contacts; enrollment ids make a retried page enroll no one twice. */
export async function audiencePage(
  deps: ActivityDeps,
  input: AudiencePageRequest,
): Promise<AudiencePage> {
  if (!deps.engine)
    throw ApplicationFailure.nonRetryable(
      'This worker cannot enroll contacts (no engine).',
      'NO_ENGINE',
    );
  try {
    return await enrollAudiencePage(deps.engine, input);
  } catch (error) {
    if (error instanceof AudienceRunError)
      throw ApplicationFailure.nonRetryable(error.message, error.type);
    throw error;
  }
}

export interface AudienceRunEnd {
  readonly runId: string;
  readonly status: Exclude<AudienceRunStatus, 'running'>;
  /** For `failed` and `cancelled`: why, in words for a marketer. */
  readonly failure?: string;
}

/** Records how the pass ended; repeating it writes the same. */
export async function finishAudienceRun(deps: ActivityDeps, input: AudienceRunEnd): Promise<void> {
  await deps.prisma.audienceRun.update({
    where: { id: input.runId },
    data: { status: input.status, failure: input.failure ?? null, finishedAt: new Date() },
  });
}
