import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EnrollmentState, EventFacts } from '../core/index.js';

/**
 * Every message an enrollment workflow understands, defined once and imported by both the
 * workflow and the code that talks to it.
 */

/** Ends the enrollment at once, whatever it is waiting in (suppression, archive, removal). */
export const exitSignal = defineSignal<[{ readonly reason: string }]>('drumbeat.exit');

/**
 * Something the contact did (or a change to them), for waits on events or conditions and for
 * goals, exits and suppression. `id` is the stored event's id: a repeat is ignored.
 */
export interface ContactEvent extends EventFacts {
  readonly id: string;
}
export const contactEventSignal = defineSignal<[ContactEvent]>('drumbeat.contactEvent');

/** The journey was paused: hold before the next action until resumed. */
export const pauseSignal = defineSignal('drumbeat.pause');
export const resumeSignal = defineSignal('drumbeat.resume');

/** The live state: the interpreter's state plus whether the enrollment is held by a pause. */
export interface LiveEnrollment {
  readonly state: EnrollmentState;
  readonly paused: boolean;
  readonly eventsHeard: number;
}
export const stateQuery = defineQuery<LiveEnrollment>('drumbeat.state');
