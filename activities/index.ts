import { ApplicationFailure } from '@temporalio/activity';
import type { Action } from '../core/index.js';
import { assertNever } from '../core/index.js';
import { activityFailures, deferrals, emailsSent } from '../metrics/index.js';
import type { ActivityDeps } from './deps.js';
import { contactAction } from './contact-action.activity.js';
import {
  audiencePage,
  finishAudienceRun,
  startAudienceRun,
  type AudienceRunEnd,
  type AudienceRunStart,
} from './audience.activity.js';
import {
  beginLateRescore,
  finishRescore,
  rescorePage,
  type AudiencePageRequest,
  type LateRescoreStart,
  type RescorePageRequest,
} from '../engine/index.js';
import { loadFacts, type LoadFactsInput } from './load-facts.activity.js';
import {
  closingRecordInput,
  recordEnrollment,
  type ClosingRecord,
  type RecordEnrollmentInput,
} from './record-enrollment.activity.js';
import { sendEmail, type SendEmailResult } from './send-email.activity.js';
import { createTaskActivity } from './create-task.activity.js';
import { callWebhook } from './call-webhook.activity.js';

export type { ActivityDeps } from './deps.js';
export type { ClosingRecord, LogEntry } from './record-enrollment.activity.js';

export interface PerformActionInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly action: Action;
  /** True once the workflow sleeps on a `deferred` email result and calls again (issue 6). */
  readonly deferrable?: boolean;
  /** The enrollment's end, to write once the action is done: this is the journey's last step. */
  readonly closing?: ClosingRecord;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

export type ActionResult =
  | { readonly type: 'sendEmail'; readonly result: SendEmailResult }
  /** `status` is an HTTP status for webhooks, which journeys can branch on. */
  | { readonly type: Exclude<Action['type'], 'sendEmail'>; readonly status?: number };

/** An action's result, and whether its activity also wrote the enrollment's end (`closing`). */
export type PerformedAction = ActionResult & { readonly closed?: true };

/** The activities the worker registers, bound to their dependencies. */
export function createActivities(deps: ActivityDeps) {
  /** Dispatches one step's action to its activity. */
  async function perform(input: PerformActionInput): Promise<ActionResult> {
    const { action } = input;
    switch (action.type) {
      case 'sendEmail':
        return {
          type: 'sendEmail',
          result: await sendEmail(deps, {
            ...input,
            template: action.template,
            subject: action.subject,
            from: action.from,
            replyTo: action.replyTo,
            category: action.category,
            countsTowardFrequencyCap: action.countsTowardFrequencyCap,
          }),
        };
      case 'createTask':
        await createTaskActivity(deps, { ...input, action });
        return { type: 'createTask' };
      case 'webhook':
        return { type: 'webhook', ...(await callWebhook(deps, { ...input, action })) };
      case 'updateContact':
      case 'updateTags':
      case 'updateLists':
      case 'adjustScore':
      case 'setLifecycleStage':
      case 'enroll':
      case 'unenroll':
        await contactAction(deps, { ...input, action });
        return { type: action.type };
      default:
        return assertNever(action, 'action');
    }
  }

  return {
    /** Carries out one step's side effect, idempotently per (enrollment, step, iteration). */
    async performAction(input: PerformActionInput): Promise<PerformedAction> {
      let result: ActionResult;
      try {
        result = await perform(input);
        if (
          result.type === 'sendEmail' &&
          result.result.status === 'sent' &&
          !result.result.alreadySent
        ) {
          emailsSent.inc({
            template: input.action.type === 'sendEmail' ? input.action.template : '',
          });
        }
      } catch (error) {
        activityFailures.inc({ activity: `performAction:${input.action.type}` });
        throw error;
      }
      if (result.type === 'sendEmail' && result.result.status === 'deferred') {
        deferrals.inc({ reason: result.result.reason });
        return result; // not sent yet: the workflow sleeps and calls again, so no end either
      }
      if (!input.closing) return result;
      // Written after the action, so a retry (this write failed) finds the action recorded.
      await recordEnrollment(deps, closingRecordInput(input.closing, result));
      return { ...result, closed: true };
    },
    /** Audience runs (enroll existing, schedules, date triggers): start, one page, finish. */
    startAudienceRun: (input: AudienceRunStart) => startAudienceRun(deps, input),
    audiencePage: (input: AudiencePageRequest) => audiencePage(deps, input),
    finishAudienceRun: (input: AudienceRunEnd) => finishAudienceRun(deps, input),
    /** Rescoring under a newly applied scoring version: one page, the second sweep, the end. */
    rescorePage: (input: RescorePageRequest) => {
      if (!deps.engine)
        throw ApplicationFailure.nonRetryable(
          'This worker cannot rescore contacts (no engine).',
          'NO_ENGINE',
        );
      return rescorePage(deps.engine, input);
    },
    beginLateRescore: (input: LateRescoreStart) => beginLateRescore(deps.prisma, input),
    finishRescore: (input: { versionId: string; status: 'done' | 'failed' }) =>
      finishRescore(deps.prisma, input.versionId, input.status),
    /** Loads the contact's facts for the interpreter's conditions; read-only, safe to retry. */
    loadFacts: (input: LoadFactsInput) => loadFacts(deps, input),
    /** Mirrors the enrollment's status and step into the store for listing; idempotent. */
    recordEnrollment: (input: RecordEnrollmentInput) => recordEnrollment(deps, input),
  };
}

export type Activities = ReturnType<typeof createActivities>;
