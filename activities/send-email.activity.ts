import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { nextSendTime, zoneOf } from '../core/index.js';
import {
  isPermanentSmtpError,
  messageIdOf,
  suppressionReasonOf,
  TemplateError,
  type SuppressionReason,
} from '../mail/index.js';
import type { ActivityDeps } from './deps.js';
import { renderContent } from './email-content.js';
import { journeyVersionInfo } from './journey-info.js';
import { messagingOf, policyOf } from './messaging.js';
import {
  readSend,
  settleSideEffect,
  type MessageRow,
  type SideEffectKey,
} from './send-email.store.js';
import { passGate } from './send-gate.js';
import { mergedContactOf } from './merged-contact.js';

export interface SendEmailInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly template: string;
  readonly subject: string | null;
  readonly from?: string | null;
  readonly replyTo?: string | null;
  /** `marketing` when absent; the workspace's transactional categories skip every rule. */
  readonly category?: string | null;
  readonly countsTowardFrequencyCap?: boolean;
  /**
   * True when the caller sleeps on a `deferred` result and calls again with the same key.
   * Otherwise a deferral is a retryable failure with `nextRetryDelay`, so Temporal holds it.
   */
  readonly deferrable?: boolean;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

export type SendEmailResult =
  | {
      readonly status: 'sent';
      readonly messageId: string;
      readonly to: string;
      readonly subject: string;
      /** True when an earlier attempt had already sent it and this one did nothing. */
      readonly alreadySent: boolean;
    }
  /** Not sent, on purpose: the address is suppressed for this category. The step moves on. */
  | { readonly status: 'suppressed'; readonly to: string; readonly reason: SuppressionReason }
  /** Outside quiet hours / over the cap: call again with the same input at `until` (epoch ms). */
  | {
      readonly status: 'deferred';
      readonly until: number;
      /** `sendWindow`: outside the journey's own quiet hours or send days. */
      readonly reason: 'quietHours' | 'frequencyCap' | 'priority' | 'sendWindow';
    };

type Recorded = Exclude<SendEmailResult, { status: 'deferred' }>;

/**
 * Sends one email for (enrollment, step, iteration) exactly once in the normal case: the
 * side-effect row is settled (done, skipped or failed) after the send, so a retry of a finished
 * send returns the recorded result. If a worker dies between the SMTP hand-off and the
 * settlement, the retry sends again with the same Message-ID, which receivers use to drop the
 * copy.
 * Marketing mail is never sent to a suppressed address and waits (never drops) for quiet
 * hours, allowed days and the frequency cap. Transient SMTP errors are thrown for Temporal's
 * backoff; permanent ones (5xx, no address, broken template) are recorded and non-retryable.
 */
export async function sendEmail(
  deps: ActivityDeps,
  input: SendEmailInput,
): Promise<SendEmailResult> {
  const key = `${input.enrollmentId}:${input.stepId}:${input.iteration}`;
  // An attempt of the same send still running in this process (one that ran past the
  // activity's timeout on a slow relay, and whose retry Temporal started meanwhile): the
  // retry takes its outcome instead of handing the email to SMTP a second time.
  let running = inFlight.get(deps);
  if (!running) inFlight.set(deps, (running = new Map<string, Promise<SendEmailResult>>()));
  const earlier = running.get(key);
  if (earlier) return earlier;
  const attempt = sendOnce(deps, input, key);
  running.set(key, attempt);
  try {
    return await attempt;
  } finally {
    if (running.get(key) === attempt) running.delete(key);
  }
}

/** Sends in flight in this process, by side-effect key. */
const inFlight = new WeakMap<ActivityDeps, Map<string, Promise<SendEmailResult>>>();

async function sendOnce(
  deps: ActivityDeps,
  input: SendEmailInput,
  key: string,
): Promise<SendEmailResult> {
  const effect: SideEffectKey = { key, enrollmentId: input.enrollmentId, stepId: input.stepId };
  const category = input.category ?? 'marketing';
  const policy = await policyOf(deps, input.workspaceId);
  const marketing = !policy.transactional.includes(category);
  // One read-only round trip: the earlier outcome, the contact, (for marketing mail) its
  // suppression, the journey version and the stored template's current version.
  const { previous, contact, suppressed, journeyVersionId, storedTemplate } = await readSend(
    deps.sql,
    {
      key,
      enrollmentId: input.enrollmentId,
      workspaceId: input.workspaceId,
      contactId: input.contactId,
      category: marketing ? category : null,
      template: input.template,
    },
  );
  const settled = previous?.status === 'done' || previous?.status === 'skipped';
  const recorded = settled ? readResult(previous.result) : null;
  if (recorded) return recorded.status === 'sent' ? { ...recorded, alreadySent: true } : recorded;

  if (!contact) {
    const merged = await mergedContactOf(deps.sql, input.enrollmentId, input.contactId);
    if (merged) return sendOnce(deps, { ...input, contactId: merged }, key);
    return fail(deps, effect, `Contact ${input.contactId} no longer exists.`, 'CONTACT_NOT_FOUND');
  }
  if (!contact.email)
    return fail(deps, effect, 'The contact has no email address.', 'CONTACT_HAS_NO_EMAIL');
  if (suppressed) {
    const reason = suppressionReasonOf(suppressed);
    return finish(deps, effect, { status: 'suppressed', to: contact.email, reason });
  }

  const local = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const messageId = messageIdOf(local);
  const journey = journeyVersionId ? await journeyVersionInfo(deps, journeyVersionId) : null;
  let content;
  try {
    content = await renderContent(messagingOf(deps), {
      template: input.template,
      storedTemplate,
      subject: input.subject,
      contact,
      recipient: { w: input.workspaceId, c: contact.id, e: contact.email, k: category, m: local },
      trigger: input.trigger,
      journey: journey && { key: journey.key, name: journey.name },
      stepId: input.stepId,
      marketing,
      tracking: { opens: policy.trackOpens, clicks: policy.trackClicks },
    });
  } catch (error) {
    if (error instanceof TemplateError) return fail(deps, effect, error.message, error.code);
    throw error;
  }

  // The journey's own window, checked as the step was entered, is checked again here: a send
  // that comes back after a pause or a workspace deferral (a frequency cap) may come back in
  // the journey's quiet hours, and would otherwise go then.
  const window = journey?.window ?? null;
  if (window) {
    const now = Date.now();
    const opens = nextSendTime(now, zoneOf(contact.timezone, window.fallbackTimezone), window);
    if (opens > now) {
      const deferred = { status: 'deferred', until: opens, reason: 'sendWindow' } as const;
      return input.deferrable ? deferred : holdInTemporal(deferred);
    }
  }

  const decision = await passGate(deps, policy, {
    key,
    messageId: local,
    workspaceId: input.workspaceId,
    contactId: contact.id,
    enrollmentId: input.enrollmentId,
    stepId: input.stepId,
    category,
    zone: zoneOf(contact.timezone, policy.fallbackTimezone),
    priority: journey?.priority ?? 1,
    restricted: marketing,
    countsToCap:
      (input.countsTowardFrequencyCap ?? true) && (journey?.countsTowardFrequencyCap ?? true),
    links: content.links,
    now: Date.now(),
  });
  if (decision.type === 'defer') {
    const deferred = {
      status: 'deferred',
      until: decision.until,
      reason: decision.reason,
    } as const;
    return input.deferrable ? deferred : holdInTemporal(deferred);
  }

  try {
    await deps.mailer.send({
      from: input.from ?? policy.from ?? deps.config.mailFrom,
      to: contact.email,
      replyTo: input.replyTo ?? policy.replyTo,
      subject: content.subject,
      html: content.html,
      text: content.text,
      messageId,
      headers: {
        'X-Drumbeat-Enrollment': input.enrollmentId,
        'X-Drumbeat-Step': input.stepId,
        ...(marketing
          ? {
              'List-Unsubscribe': `<${content.unsubscribeUrl}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            }
          : {}),
      },
    });
  } catch (error) {
    if (!isPermanentSmtpError(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    return fail(
      deps,
      effect,
      `The mail server refused the email for good: ${reason}`,
      'SMTP_PERMANENT',
      local,
    );
  }
  return finish(
    deps,
    effect,
    { status: 'sent', messageId, to: contact.email, subject: content.subject, alreadySent: false },
    decision.unrecorded,
  );
}

/**
 * Until the workflow sleeps on `deferred` results itself, Temporal holds the send: a retryable
 * failure with `nextRetryDelay` re-runs this activity (same key) at the next allowed moment.
 * A wait longer than the activity's schedule-to-close budget cannot be held that way and fails
 * for good, so the step's `onFailure` rule decides, rather than the email silently vanishing.
 */
function holdInTemporal(deferred: Extract<SendEmailResult, { status: 'deferred' }>): never {
  const info = Context.current().info;
  const waitMs = Math.max(1000, deferred.until - Date.now());
  const budget = info.scheduleToCloseTimeoutMs;
  const deadline = budget > 0 ? info.scheduledTimestampMs + budget : Number.POSITIVE_INFINITY;
  const message = `Held until ${new Date(deferred.until).toISOString()} (${deferred.reason}).`;
  if (Date.now() + waitMs + 60_000 > deadline)
    throw ApplicationFailure.nonRetryable(
      `${message} That is beyond this activity's time budget.`,
      'SEND_DEFERRED_TOO_LONG',
    );
  throw ApplicationFailure.create({ message, type: 'SEND_DEFERRED', nextRetryDelay: waitMs });
}

async function finish<T extends Recorded>(
  deps: ActivityDeps,
  effect: SideEffectKey,
  result: T,
  message: MessageRow | null = null,
): Promise<T> {
  const { alreadySent: _ignored, ...stored } = { alreadySent: false, ...result };
  // `skipped` (suppressed) so conditions on "was this email sent" stay false.
  const status = result.status === 'sent' ? 'done' : 'skipped';
  await settleSideEffect(deps.sql, effect, status, stored, { message });
  return result;
}

/** Records the failure (dropping the email's reservation when `unreserve` names it) and ends. */
async function fail(
  deps: ActivityDeps,
  effect: SideEffectKey,
  message: string,
  type: string,
  unreserve?: string,
): Promise<never> {
  await settleSideEffect(
    deps.sql,
    effect,
    'failed',
    { error: message, type },
    unreserve === undefined ? {} : { unreserve },
  );
  throw ApplicationFailure.nonRetryable(message, type);
}

function readResult(value: unknown): Recorded | null {
  if (typeof value !== 'object' || value === null) return null;
  const v: Record<string, unknown> = { ...value };
  if (v.status === 'suppressed' && typeof v.to === 'string') {
    const reason = suppressionReasonOf(v.reason);
    return { status: 'suppressed', to: v.to, reason };
  }
  const { messageId, to, subject } = v;
  return typeof messageId === 'string' && typeof to === 'string' && typeof subject === 'string'
    ? { status: 'sent', messageId, to, subject, alreadySent: false }
    : null;
}
