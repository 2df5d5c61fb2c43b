import type { StepDefinition } from './journey.schema.js';

/**
 * The journey as a graph: every way out of every step, explicit or implied by list order.
 * Validation walks it for dangling references, unreachable steps and loops; the compiler
 * turns it into explicit next pointers.
 */
export interface Edge {
  /** Target step id; null ends the enrollment. */
  readonly to: string | null;
  /** Where the reference is written, below the step; empty when implied by list order. */
  readonly at: readonly (string | number)[];
}

export function edgesOf(step: StepDefinition, following: string | null): Edge[] {
  const next = (value: string | undefined, key: string): Edge =>
    value === undefined ? { to: following, at: [] } : { to: value, at: [key] };
  switch (step.type) {
    case 'exit':
      return [];
    case 'branch':
      return [
        ...step.cases.map((c, i) => ({ to: c.next, at: ['cases', i, 'next'] })),
        next(step.else, 'else'),
      ];
    case 'split':
      return step.arms.map((a, i) => ({ to: a.next, at: ['arms', i, 'next'] }));
    case 'waitForEvent':
    case 'waitForCondition':
      return step.onTimeout === undefined
        ? [next(step.next, 'next')]
        : [next(step.next, 'next'), { to: step.onTimeout, at: ['onTimeout'] }];
    case 'webhook':
      return [
        next(step.next, 'next'),
        ...(step.onStatus ?? []).map((r, i) => ({ to: r.next, at: ['onStatus', i, 'next'] })),
      ];
    case 'sendEmail':
    case 'createTask':
    case 'updateContact':
    case 'updateTags':
    case 'updateLists':
    case 'adjustScore':
    case 'setLifecycleStage':
    case 'enroll':
    case 'unenroll':
    case 'wait':
    case 'waitUntil':
    case 'waitForTime':
      return [next(step.next, 'next')];
  }
}

/**
 * Steps that hold the contact for a while on every pass, breaking any loop they sit in. Not
 * `waitUntil` (it goes on at once when its date is past or unknown) nor `waitForCondition` (at
 * once when the condition already holds): a loop whose only wait is one of them could send
 * without end.
 */
export function isWait(step: StepDefinition): boolean {
  return ['wait', 'waitForTime', 'waitForEvent'].includes(step.type);
}
