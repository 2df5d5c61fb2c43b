import {
  ActivityFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
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
/** How often a publish pass of a paused journey looks whether it was resumed. */
const PAUSED_PASS_POLL = '15 seconds';
/** Looks before continuing as new: a pause can last weeks, each look adds to the history. */
const WAITS_PER_RUN = 100;

/**
 * One pass over a journey's audience, page by page, with its progress in the store (see
 * GET /v1/journeys/:id/audience-runs). Started on publish (`enrollExisting`), by a schedule
 * trigger's Temporal Schedule, or daily for a date trigger. Long passes continue as new.
 * A page that fails for good, or a cancellation, ends the run as `failed` or `cancelled` with
 * the reason recorded, then fails or cancels the workflow as well.
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
  try {
    await enrollPages(input, runId);
  } catch (error) {
    const end = endOf(error);
    // Before the patch a failure ended the workflow at once and left the run `running`.
    if (end && patched('audience-run-records-its-end'))
      await CancellationScope.nonCancellable(() => finishAudienceRun({ runId, ...end }));
    throw error;
  }
  await finishAudienceRun({ runId, status: 'done' });
  return { runId };
}

async function enrollPages(input: AudienceWorkflowInput, runId: string): Promise<void> {
  let cursor = input.cursor ?? null;
  let waits = 0;
  for (let pages = 0; ; pages++) {
    if ((pages >= PAGES_PER_RUN && cursor) || waits >= WAITS_PER_RUN)
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
    // The journey is paused: wait and ask for the same page again. No patch: only the page
    // activity's new answer leads here, and no recorded history holds it.
    if (page.held) {
      waits++;
      await sleep(PAUSED_PASS_POLL);
      continue;
    }
    cursor = page.nextCursor;
    if (!cursor) return;
  }
}

/** How a pass ends for an error, in words for a marketer; null for anything else (continue-as-new). */
function endOf(
  error: unknown,
): { readonly status: 'failed' | 'cancelled'; readonly failure: string } | null {
  if (isCancellation(error)) return { status: 'cancelled', failure: 'The run was cancelled.' };
  if (!(error instanceof ActivityFailure)) return null;
  const cause = error.cause;
  if (cause instanceof TimeoutFailure)
    return {
      status: 'failed',
      failure:
        'Contacts could not be enrolled for a day, so the run stopped' +
        (cause.cause?.message ? `: ${cause.cause.message}` : '.'),
    };
  return { status: 'failed', failure: cause?.message ?? error.message };
}
