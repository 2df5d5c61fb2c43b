import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma } from '@prisma/client';
import { TemplateError } from '../mail/index.js';
import { contactView } from './contact-view.js';
import type { ActivityDeps } from './deps.js';

export interface SendEmailInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly template: string;
  readonly subject: string | null;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

export interface SendEmailResult {
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  /** True when an earlier attempt had already sent it and this one did nothing. */
  readonly alreadySent: boolean;
}

/**
 * Sends one email for (enrollment, step, iteration), at most once in the normal case: the
 * side-effect row is claimed before sending and marked done after, so a retry of a finished
 * send returns the recorded result. If a worker dies between the SMTP hand-off and the mark,
 * the retry sends again with the same Message-ID, which receivers use to drop the copy.
 * Permanent problems (no address, broken template) are non-retryable.
 */
export async function sendEmail(
  deps: ActivityDeps,
  input: SendEmailInput,
): Promise<SendEmailResult> {
  const key = `${input.enrollmentId}:${input.stepId}:${input.iteration}`;
  const previous = await deps.prisma.sideEffect.findUnique({ where: { key } });
  const recorded = previous?.status === 'done' ? readResult(previous.result) : null;
  if (recorded) return { ...recorded, alreadySent: true };
  if (!previous) {
    await deps.prisma.sideEffect.upsert({
      where: { key },
      create: {
        key,
        enrollmentId: input.enrollmentId,
        stepId: input.stepId,
        kind: 'sendEmail',
        status: 'started',
      },
      update: {},
    });
  }

  const contact = await deps.prisma.contact.findFirst({
    where: { id: input.contactId, workspaceId: input.workspaceId },
  });
  if (!contact)
    throw ApplicationFailure.nonRetryable(
      `Contact ${input.contactId} no longer exists.`,
      'CONTACT_NOT_FOUND',
    );
  if (!contact.email)
    throw ApplicationFailure.nonRetryable(
      'The contact has no email address.',
      'CONTACT_HAS_NO_EMAIL',
    );

  let rendered;
  try {
    rendered = deps.templates.render(
      input.template,
      { contact: contactView(contact), event: input.trigger },
      { subject: input.subject },
    );
  } catch (error) {
    if (error instanceof TemplateError)
      throw ApplicationFailure.nonRetryable(error.message, error.code);
    throw error;
  }

  const messageId = `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@drumbeat>`;
  await deps.mailer.send({
    from: deps.config.mailFrom,
    to: contact.email,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId,
    headers: { 'X-Drumbeat-Enrollment': input.enrollmentId, 'X-Drumbeat-Step': input.stepId },
  });
  const result = { messageId, to: contact.email, subject: rendered.subject };
  await deps.prisma.sideEffect.update({
    where: { key },
    data: { status: 'done', result: result satisfies Prisma.InputJsonObject },
  });
  return { ...result, alreadySent: false };
}

function readResult(value: unknown): Omit<SendEmailResult, 'alreadySent'> | null {
  if (typeof value !== 'object' || value === null) return null;
  const { messageId, to, subject } = value as Record<string, unknown>;
  return typeof messageId === 'string' && typeof to === 'string' && typeof subject === 'string'
    ? { messageId, to, subject }
    : null;
}
