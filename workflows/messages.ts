import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EnrollmentState, EventFacts } from '../core/index.js';

/**
 * Every message an enrollment workflow understands, defined once and imported by both the
 * workflow and the code that talks to it.
 */

/** Ends the enrollment at once, whatever it is waiting in (goal met, suppression, archive). */
export const exitSignal = defineSignal<[{ readonly reason: string }]>('drumbeat.exit');

/** The interpreter's live state: current step, status and wake time. */
export const stateQuery = defineQuery<EnrollmentState>('drumbeat.state');

/**
 * Something the contact did (or a change to them), for waits on events or conditions and for
 * goals and exits. The workflow ignores events its current wait does not listen for.
 */
export const contactEventSignal = defineSignal<[EventFacts]>('drumbeat.contactEvent');
