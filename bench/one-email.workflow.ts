import { proxyLocalActivities } from '@temporalio/workflow';
import type { OneEmailActivities } from './one-email.worker.js';

const { sendOne } = proxyLocalActivities<OneEmailActivities>({
  startToCloseTimeout: '30 seconds',
});

/**
 * A hand-written one-email workflow: a baseline for enrollments that does the work a one-email
 * journey exists for (send one email through SMTP) and nothing else: no event stored, no entry
 * rules, no idempotency record, no template, no enrollment record.
 */
export async function oneEmailWorkflow(to: string): Promise<void> {
  await sendOne(to);
}
