import {
  ActivityFailure,
  CancellationScope,
  continueAsNew,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface RescoreWorkflowInput {
  readonly workspaceId: string;
  readonly versionId: string;
  /** When the contacts were counted for the first sweep (epoch ms). */
  readonly listedAt: number;
  /** When the second sweep may begin: no process scores under the old version any more. */
  readonly lateFrom: number;
  /** Where a previous run left off (continue-as-new). */
  readonly sweep?: 'all' | 'late';
  readonly cursor?: string | null;
  readonly done?: number;
}

/** A page rescores up to 100 contacts; 5 minutes per attempt, retried with backoff for a day. */
const { rescorePage, beginLateRescore, finishRescore } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const PAGE_SIZE = 100;
const PAGES_PER_RUN = 200;

/**
 * Rescores a workspace under a newly applied scoring version, page by page, with its progress
 * on the version (engine/scoring-models.ts): every contact with events, then, once no process
 * can still be scoring under the old version, the contacts with events from the first listing
 * on. Long sweeps continue as new. A page that fails for good marks the rescore `failed`.
 */
export async function rescoreWorkflow(input: RescoreWorkflowInput): Promise<void> {
  let sweep = input.sweep ?? 'all';
  let cursor = input.cursor ?? null;
  let done = input.done ?? 0;
  try {
    for (let pages = 0; ; pages++) {
      if (pages >= PAGES_PER_RUN && cursor)
        return continueAsNew<typeof rescoreWorkflow>({ ...input, sweep, cursor, done });
      const page = await rescorePage({
        workspaceId: input.workspaceId,
        versionId: input.versionId,
        since: sweep === 'late' ? input.listedAt : null,
        cursor,
        pageSize: PAGE_SIZE,
        doneBefore: done,
      });
      done += page.rescored;
      cursor = page.nextCursor;
      if (cursor) continue;
      if (sweep === 'late') break;
      await sleep(Math.max(0, input.lateFrom - Date.now()));
      await beginLateRescore({
        workspaceId: input.workspaceId,
        versionId: input.versionId,
        since: input.listedAt,
        doneBefore: done,
      });
      sweep = 'late';
    }
  } catch (error) {
    if (error instanceof ActivityFailure)
      await CancellationScope.nonCancellable(() =>
        finishRescore({ versionId: input.versionId, status: 'failed' }),
      );
    throw error;
  }
  await finishRescore({ versionId: input.versionId, status: 'done' });
}
