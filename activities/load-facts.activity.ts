import { ApplicationFailure } from '@temporalio/activity';
import type { EmailActivity, Facts } from '../core/index.js';
import { contactView, isRecord } from './contact-view.js';
import type { ActivityDeps } from './deps.js';

export interface LoadFactsInput {
  readonly workspaceId: string;
  readonly contactId: string;
  readonly enrollmentId: string;
}

/**
 * A fresh snapshot of the contact for the interpreter's conditions: attributes, and the tags,
 * lists, scores and lifecycle stage kept in them, plus which of this enrollment's emails were
 * sent. Read-only, so retries are harmless.
 */
export async function loadFacts(deps: ActivityDeps, input: LoadFactsInput): Promise<Facts> {
  const contact = await deps.prisma.contact.findFirst({
    where: { id: input.contactId, workspaceId: input.workspaceId },
  });
  if (!contact)
    throw ApplicationFailure.nonRetryable(
      `Contact ${input.contactId} no longer exists.`,
      'CONTACT_NOT_FOUND',
    );
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  const sent = await deps.prisma.sideEffect.findMany({
    where: { enrollmentId: input.enrollmentId, kind: 'sendEmail', status: 'done' },
    select: { stepId: true },
  });
  const emails: Record<string, EmailActivity[]> = {};
  for (const { stepId } of sent) emails[stepId] = ['sent'];
  return {
    contact: contactView(contact),
    tags: strings(attributes.tags),
    lists: strings(attributes.lists),
    scores: numbers(attributes.scores),
    lifecycleStage:
      typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
    emails,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function numbers(value: unknown): Record<string, number> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}
