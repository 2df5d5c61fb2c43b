import type { Field, PlanCondition } from './condition.js';

/**
 * A plan is what a valid journey definition compiles into: every step addressed by id with
 * explicit next pointers (every branch arm too; `null` ends the enrollment), durations in
 * milliseconds, conditions parsed. Plans are immutable and content-hashed; an enrollment is
 * pinned to the plan it started on. Plans are plain JSON so they cross into the workflow
 * sandbox and the store unchanged.
 */
export const PLAN_FORMAT = 2 as const;

export interface Plan {
  /** Version of this plan shape, so a shell can refuse a plan it does not understand. */
  readonly format: typeof PLAN_FORMAT;
  readonly journeyKey: string;
  readonly name: string;
  /** sha256 of the canonical plan body (without the hash itself). */
  readonly hash: string;
  readonly triggers: readonly PlanTrigger[];
  readonly enrollment: EnrollmentRules;
  readonly goals: readonly PlanCriterion[];
  readonly exits: readonly PlanCriterion[];
  /** Any of these true ends the enrollment (for example: unsubscribed). */
  readonly suppression: readonly PlanCondition[];
  readonly settings: PlanSettings;
  /** First step of every enrollment; null for a journey with no steps. */
  readonly entry: string | null;
  readonly steps: Readonly<Record<string, PlanStep>>;
}

// ---- Triggers ---------------------------------------------------------------------------

export type PlanTrigger =
  | { readonly type: 'event'; readonly event: string; readonly filter: PlanCondition | null }
  | { readonly type: 'condition'; readonly condition: PlanCondition }
  | { readonly type: 'lifecycleChange'; readonly from: string | null; readonly to: string | null }
  | { readonly type: 'webhook'; readonly source: string; readonly filter: PlanCondition | null }
  | {
      readonly type: 'schedule';
      /** One-off start, epoch ms; null when recurring. */
      readonly at: number | null;
      readonly recurring: Recurrence | null;
      readonly audience: PlanCondition | null;
    }
  | {
      readonly type: 'date';
      readonly attribute: Field;
      /** Signed: -7 days is a week before the date. */
      readonly offsetMs: number;
      readonly yearly: boolean;
      /** Local time of day to enroll at, minutes after midnight. */
      readonly minuteOfDay: number;
      readonly fallbackTimezone: string;
      readonly audience: PlanCondition | null;
    }
  | { readonly type: 'manual' };

export interface Recurrence {
  readonly frequency: 'daily' | 'weekly' | 'monthly';
  readonly minuteOfDay: number;
  /** 0 = Sunday; for weekly schedules. */
  readonly weekdays: readonly number[];
  /** For monthly schedules. */
  readonly dayOfMonth: number | null;
  readonly timezone: string;
}

// ---- Entry rules, goals, settings ----------------------------------------------------------

export type ReentryPolicy = 'once' | 'afterExit' | 'everyTime' | 'coolDown';

export interface EnrollmentRules {
  readonly reentry: ReentryPolicy;
  /** With `coolDown`: time after the previous entry before another one. */
  readonly coolDownMs: number;
  /** Null means unlimited. */
  readonly maxEntries: number | null;
  /** Distinct values are distinct enrollments; repeats of one value are deduplicated. */
  readonly key: Field | null;
  readonly condition: PlanCondition | null;
  readonly enrollExisting: boolean;
}

export type PlanCriterion =
  | {
      readonly id: string;
      readonly type: 'event';
      readonly event: string;
      readonly filter: PlanCondition | null;
    }
  | { readonly id: string; readonly type: 'condition'; readonly condition: PlanCondition };

export interface PlanSettings {
  /** Emails are held outside [start, end) local minutes; null when sending any time. */
  readonly quietHours: { readonly startMinute: number; readonly endMinute: number } | null;
  /** Allowed local weekdays for emails (0 = Sunday); empty means every day. */
  readonly sendDays: readonly number[];
  readonly fallbackTimezone: string;
  readonly countsTowardFrequencyCap: boolean;
  readonly rateLimit: { readonly count: number; readonly perMs: number } | null;
  readonly priority: 'low' | 'normal' | 'high';
}

// ---- Steps -------------------------------------------------------------------------------

export type PlanStep = ActionStep | WaitStep | BranchStep | ExitStep;
export type WaitStep =
  DelayStep | WaitUntilStep | WaitForTimeStep | WaitForEventStep | WaitForConditionStep;
export type BranchStep = ConditionBranchStep | SplitStep;

interface StepBase {
  readonly id: string;
}

/** A side effect, done once per (enrollment, step, iteration) by the shell. */
export interface ActionStep extends StepBase {
  readonly type: 'action';
  readonly action: Action;
  readonly next: string | null;
  /** `skip` continues with `next` when the action fails for good; `stop` ends the enrollment. */
  readonly onFailure: 'skip' | 'stop';
  /** For webhooks: the first route whose range holds the response status wins; else `next`. */
  readonly routes: readonly StatusRoute[];
}

export interface StatusRoute {
  readonly from: number;
  readonly to: number;
  readonly next: string | null;
}

export interface DelayStep extends StepBase {
  readonly type: 'wait';
  readonly durationMs: number;
  readonly jitterMs: number;
  readonly next: string | null;
}

/** Until a fixed instant, or until a date field (contact or trigger) plus a signed offset. */
export interface WaitUntilStep extends StepBase {
  readonly type: 'waitUntil';
  readonly at: number | null;
  readonly field: Field | null;
  readonly offsetMs: number;
  readonly jitterMs: number;
  readonly next: string | null;
}

export interface WaitForTimeStep extends StepBase {
  readonly type: 'waitForTime';
  readonly minuteOfDay: number;
  /** 0 = Sunday; empty means every day. */
  readonly weekdays: readonly number[];
  readonly fallbackTimezone: string;
  readonly jitterMs: number;
  readonly next: string | null;
}

export interface WaitForEventStep extends StepBase {
  readonly type: 'waitForEvent';
  readonly event: string;
  readonly filter: PlanCondition | null;
  /** Property of the awaited event that must equal the enrollment's entry key. */
  readonly correlate: string | null;
  readonly timeoutMs: number;
  readonly next: string | null;
  readonly onTimeout: string | null;
}

export interface WaitForConditionStep extends StepBase {
  readonly type: 'waitForCondition';
  readonly condition: PlanCondition;
  readonly timeoutMs: number;
  /** Time-based conditions change without any event: look again this often. */
  readonly recheckMs: number;
  readonly next: string | null;
  readonly onTimeout: string | null;
}

export interface ConditionBranchStep extends StepBase {
  readonly type: 'branch';
  /** The first case whose condition holds wins. */
  readonly cases: readonly {
    readonly name: string;
    readonly condition: PlanCondition;
    readonly next: string | null;
  }[];
  readonly otherwise: string | null;
}

export interface SplitStep extends StepBase {
  readonly type: 'split';
  readonly arms: readonly {
    readonly name: string;
    readonly weight: number;
    readonly next: string | null;
  }[];
  /** Weight of the hold-out group, whose members leave the journey here. */
  readonly holdout: number;
  /**
   * Mixed into the contact's hash (the journey's key), so that splits of different journeys
   * are independent: without it a contact in one journey's hold-out group was in the hold-out
   * group of every journey with a split step of the same id. Absent in plans published before;
   * those keep splitting as they did, so running enrollments keep their arms.
   */
  readonly seed?: string;
}

export interface ExitStep extends StepBase {
  readonly type: 'exit';
  readonly reason: string | null;
}

export type StepType = PlanStep['type'];

// ---- Actions -----------------------------------------------------------------------------

/** Strings in actions may hold Handlebars placeholders, rendered by the activity. */
export type Action =
  | {
      readonly type: 'sendEmail';
      readonly template: string;
      readonly subject: string | null;
      readonly from: string | null;
      readonly replyTo: string | null;
      readonly category: string | null;
      readonly countsTowardFrequencyCap: boolean;
    }
  | {
      readonly type: 'createTask';
      readonly title: string;
      readonly description: string | null;
      readonly assignee: TaskAssignee;
      readonly dueInMs: number | null;
      readonly priority: 'low' | 'normal' | 'high' | 'urgent';
    }
  | { readonly type: 'updateContact'; readonly changes: readonly ContactChange[] }
  | {
      readonly type: 'updateTags';
      readonly add: readonly string[];
      readonly remove: readonly string[];
    }
  | {
      readonly type: 'updateLists';
      readonly add: readonly string[];
      readonly remove: readonly string[];
    }
  | {
      readonly type: 'adjustScore';
      readonly score: string;
      readonly points: number;
      readonly reason: string | null;
    }
  | { readonly type: 'setLifecycleStage'; readonly stage: string }
  | {
      readonly type: 'webhook';
      readonly url: string;
      readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      readonly headers: Readonly<Record<string, string>>;
      readonly body: unknown;
    }
  | { readonly type: 'enroll'; readonly journey: string }
  | { readonly type: 'unenroll'; readonly journey: string };

export type TaskAssignee =
  | { readonly type: 'owner'; readonly fallbackTeam: string | null }
  | { readonly type: 'roundRobin'; readonly team: string }
  | { readonly type: 'leastLoaded'; readonly team: string }
  | { readonly type: 'user'; readonly user: string };

export type ContactChange =
  | {
      readonly type: 'set';
      readonly attribute: string;
      readonly value: string | number | boolean | null;
    }
  | { readonly type: 'increment'; readonly attribute: string; readonly by: number }
  | { readonly type: 'unset'; readonly attribute: string };

export type ActionType = Action['type'];
