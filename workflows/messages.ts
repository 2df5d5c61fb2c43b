import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EnrollmentState } from '../core/index.js';

/**
 * Every message an enrollment workflow understands, defined once and imported by both the
 * workflow and the code that talks to it.
 */

/** Ends the enrollment at once, whatever it is waiting in (goal met, suppression, archive). */
export const exitSignal = defineSignal<[{ readonly reason: string }]>('drumbeat.exit');

/** The interpreter's live state: current step, status and wake time. */
export const stateQuery = defineQuery<EnrollmentState>('drumbeat.state');
