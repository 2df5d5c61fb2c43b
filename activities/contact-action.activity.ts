import { ApplicationFailure } from '@temporalio/activity';
import {
  applyContactAction,
  type ContactAction,
  type ContactActionError,
} from '../engine/index.js';
import type { ActivityDeps } from './deps.js';
import { mergedContactOf } from './merged-contact.js';

export interface ContactActionInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly action: ContactAction;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

/** What the step's log says when its action cannot be done at all. */
const FAILURES: Record<ContactActionError, string> = {
  'contact-not-found': 'The contact no longer exists.',
  'journey-not-found': 'The journey it refers to does not exist.',
  'journey-unreadable':
    'The journey it enrolls the contact in was saved in a form this Drumbeat cannot read: publish that journey again.',
};

/**
 * Changes the contact or its journeys for one step, once per (enrollment, step, iteration).
 * A missing contact or journey, or one it cannot read, is permanent (non-retryable): the step's
 * failure rule decides.
 */
export async function contactAction(deps: ActivityDeps, input: ContactActionInput): Promise<void> {
  if (!deps.engine)
    throw ApplicationFailure.nonRetryable(
      'This worker cannot change contacts (no engine).',
      'NO_ENGINE',
    );
  const result = await applyContactAction(deps.engine, {
    ...input,
    key: `${input.enrollmentId}:${input.stepId}:${input.iteration}`,
  });
  if ('error' in result && result.error === 'contact-not-found') {
    const merged = await mergedContactOf(deps.engine.sql, input.enrollmentId, input.contactId);
    if (merged) return contactAction(deps, { ...input, contactId: merged });
  }
  if ('error' in result)
    throw ApplicationFailure.nonRetryable(
      FAILURES[result.error],
      result.error.toUpperCase().replace(/-/g, '_'),
    );
}
