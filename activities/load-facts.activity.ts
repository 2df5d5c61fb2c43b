import { ApplicationFailure } from '@temporalio/activity';
import type { Facts } from '../core/index.js';
import { loadContactFacts } from '../engine/facts.js';
import type { ActivityDeps } from './deps.js';
import { mergedContactOf } from './merged-contact.js';

export interface LoadFactsInput {
  readonly workspaceId: string;
  readonly contactId: string;
  readonly enrollmentId: string;
  /**
   * Given by `journeyWorkflowV6` runs: tags and lists the contact has none of are left out.
   * Earlier types' runs (and their recorded inputs) do not give it, and get empty lists.
   */
  readonly emptyLists?: 'leave-out';
}

/** A fresh snapshot of the contact for the interpreter's conditions. Read-only: retries are harmless. */
export async function loadFacts(deps: ActivityDeps, input: LoadFactsInput): Promise<Facts> {
  const facts = await loadContactFacts(
    deps.sql,
    input.workspaceId,
    input.contactId,
    input.enrollmentId,
    undefined,
    input.emptyLists ?? 'keep',
  );
  if (!facts) {
    const merged = await mergedContactOf(deps.sql, input.enrollmentId, input.contactId);
    if (merged) return loadFacts(deps, { ...input, contactId: merged });
    throw ApplicationFailure.nonRetryable(
      `Contact ${input.contactId} no longer exists.`,
      'CONTACT_NOT_FOUND',
    );
  }
  return facts;
}
