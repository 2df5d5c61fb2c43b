import { ApplicationFailure } from '@temporalio/activity';
import {
  enrollAudiencePage,
  type AudiencePage,
  type AudiencePageRequest,
  type AudienceReason,
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
  return enrollAudiencePage(deps.engine, input);
}

export async function finishAudienceRun(
  deps: ActivityDeps,
  input: { readonly runId: string; readonly status: 'done' | 'failed' },
): Promise<void> {
  await deps.prisma.audienceRun.update({
    where: { id: input.runId },
    data: { status: input.status, finishedAt: new Date() },
  });
}
