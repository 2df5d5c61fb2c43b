import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AudienceReason } from '../engine/index.js';

export interface AudienceWorkflowInput {
  readonly workspaceId: string;
  readonly journeyId: string;
  readonly reason: AudienceReason;
  readonly triggerIndex: number | null;
  /** Where a previous run of this pass left off (continue-as-new). */
  readonly cursor?: string | null;
  readonly runId?: string;
}

/** A page enrolls up to 200 contacts; 2 minutes per attempt, retried with backoff for a day. */
const { startAudienceRun, audiencePage, finishAudienceRun } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const PAGE_SIZE = 200;
const PAGES_PER_RUN = 200;

/**
 * One pass over a journey's audience, page by page, with its progress in the store (see
 * GET /v1/journeys/:id/audience-runs). Started on publish (`enrollExisting`), by a schedule
 * trigger's Temporal Schedule, or daily for a date trigger. Long passes continue as new.
 */
export async function audienceWorkflow(
  input: AudienceWorkflowInput,
): Promise<{ readonly runId: string }> {
  const runId = input.runId ?? workflowInfo().workflowId;
  if (!input.runId)
    await startAudienceRun({
      runId,
      workspaceId: input.workspaceId,
      journeyId: input.journeyId,
      reason: input.reason,
    });
  let cursor = input.cursor ?? null;
  for (let pages = 0; ; pages++) {
    if (pages >= PAGES_PER_RUN && cursor)
      return continueAsNew<typeof audienceWorkflow>({ ...input, cursor, runId });
    const page = await audiencePage({
      runId,
      workspaceId: input.workspaceId,
      journeyId: input.journeyId,
      reason: input.reason,
      triggerIndex: input.triggerIndex,
      cursor,
      pageSize: PAGE_SIZE,
    });
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  await finishAudienceRun({ runId, status: 'done' });
  return { runId };
}
