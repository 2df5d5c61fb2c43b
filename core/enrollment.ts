import type { ConditionCheck } from './condition-trace.js';
import type { EventFacts, Facts } from './facts.js';
import type { Action } from './plan.js';

/**
 * The messages between the pure interpreter and its shells (the Temporal workflow, the
 * simulator): the enrollment's state, the inputs a shell feeds in and the commands it gets
 * back, one at a time.
 */

export type Outcome = 'completed' | 'exited' | 'converted' | 'failed';
export type EnrollmentStatus = 'active' | 'waiting' | Outcome;

export interface EnrollmentState {
  readonly status: EnrollmentStatus;
  readonly contactId: string;
  /** Distinct keys are distinct enrollments; `correlate` on wait-for-event compares to it. */
  readonly entryKey: string | null;
  readonly trigger: EventFacts | null;
  /** Step being executed or waited in; null before the start and once finished. */
  readonly stepId: string | null;
  /** How many times each step has been entered: the iteration part of side-effect keys. */
  readonly visits: Readonly<Record<string, number>>;
  /**
   * The occurrence (epoch ms) each `waitForTime` step last took, so a loop back to it at that
   * very instant waits for the next one instead of passing again. Absent in older states.
   */
  readonly slots?: Readonly<Record<string, number>>;
  /** When the shell should feed `timerFired`, epoch ms; null when no timer runs. */
  readonly wakeAt: number | null;
  /** When the current wait gives up (its timeout path), epoch ms. */
  readonly deadline: number | null;
  /** The input to replay once the shell has answered `loadFacts`. */
  readonly pending: Input | null;
  /** Facts answered for the input being processed; dropped once it is processed. */
  readonly facts: Facts | null;
}

export type Input =
  /** `facts` may be given when the shell already holds a fresh snapshot of the contact. */
  | { readonly type: 'start'; readonly facts?: Facts }
  /** `status` is the HTTP status of a webhook action, for its response routes. */
  | { readonly type: 'actionDone'; readonly stepId: string; readonly status?: number }
  /** The action failed for good (retries exhausted or a permanent error). */
  | { readonly type: 'actionFailed'; readonly stepId: string; readonly error: string }
  | { readonly type: 'timerFired' }
  /** Something the contact did; wakes event waits and event goals and exits. */
  | { readonly type: 'event'; readonly event: EventFacts }
  /** The answer to `loadFacts`. */
  | { readonly type: 'facts'; readonly facts: Facts };

export interface WakeOn {
  /** Event names that can matter to this enrollment now (the wait's own, goals', exits'). */
  readonly events: readonly string[];
  /** True when a condition is watched: any change to the contact should be fed as an event. */
  readonly anyChange: boolean;
}

export type Command =
  /** Run a side effect; `iteration` makes the idempotency key with the enrollment and step. */
  | {
      readonly type: 'perform';
      readonly stepId: string;
      readonly iteration: number;
      readonly action: Action;
    }
  /** Wait until `until` (then feed `timerFired`) or until a relevant event (feed `event`). */
  | {
      readonly type: 'wait';
      readonly stepId: string;
      readonly until: number | null;
      readonly wakeOn: WakeOn;
    }
  /** Load a fresh snapshot of the contact and feed it back as `facts`. */
  | { readonly type: 'loadFacts' }
  /** Nothing changes for this input: carry on with the command in progress. */
  | { readonly type: 'continue' }
  /** The enrollment is over. */
  | {
      readonly type: 'finish';
      readonly outcome: Outcome;
      readonly stepId: string | null;
      /** Goal or exit id, `suppressed`, `holdout`, an exit step's reason or the failure. */
      readonly reason: string | null;
    };

export interface Transition {
  readonly state: EnrollmentState;
  readonly command: Command;
  /** Steps entered while handling the input, in order (for paths and step records). */
  readonly entered: readonly string[];
  /** Choices made on the way, in order: each branch passed, and the goal or exit that ended it. */
  readonly decisions: readonly Decision[];
}

/**
 * Why the interpreter went where it went, for the enrollment's log: a branch's case (`else`
 * when none held), or the goal or exit met (`suppressed` for suppression), with every
 * comparison it evaluated and the values it read. Cases after the one taken are not evaluated.
 */
export interface Decision {
  readonly kind: 'branch' | 'goal' | 'exit';
  /** The branch step, or the step the enrollment was in when the goal or exit was met. */
  readonly stepId: string | null;
  readonly took: string;
  readonly conditions: readonly ConditionCheck[];
}

export interface EnrollmentStart {
  readonly contactId: string;
  readonly entryKey?: string | null;
  readonly trigger?: EventFacts | null;
}

export function startState(start: EnrollmentStart): EnrollmentState {
  return {
    status: 'active',
    contactId: start.contactId,
    entryKey: start.entryKey ?? null,
    trigger: start.trigger ?? null,
    stepId: null,
    visits: {},
    wakeAt: null,
    deadline: null,
    pending: null,
    facts: null,
  };
}

/** A state without a contact, for callers that do not use splits or jitter. */
export const initialState: EnrollmentState = startState({ contactId: '' });

export function isFinished(state: EnrollmentState): boolean {
  return state.status !== 'active' && state.status !== 'waiting';
}
