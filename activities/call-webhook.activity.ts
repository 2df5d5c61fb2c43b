import { ApplicationFailure } from '@temporalio/activity';
import type { Action } from '../core/index.js';
import { renderJson, renderText, signWebhook } from '../mail/index.js';
import { contactView } from '../engine/index.js';
import type { ActivityDeps } from './deps.js';
import { writeSideEffect } from './side-effects.js';
import { journeyInfo } from './journey-info.js';
import { mergedContactOf } from './merged-contact.js';
import { PrivateAddressError } from './webhook-address.js';
import { requestWebhook } from './webhook-http.js';

export interface CallWebhookInput {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly action: Extract<Action, { type: 'webhook' }>;
  readonly trigger: {
    readonly name: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  };
}

/** How long one call may take before it counts as failed and is retried. */
const TIMEOUT_MS = 10_000;
/**
 * 5xx, 429 and network errors: this many HTTP calls in all (Temporal's backoff between them).
 * Counted in the side-effect row, not by the activity's attempt number, because attempts the
 * rate limit held made no call and must not use up the receiver's retries.
 */
const MAX_ATTEMPTS = 5;

/**
 * Calls a URL with a templated JSON body, signed with the Standard Webhooks scheme, and
 * returns the response status for the step's status routes. One call per (enrollment, step,
 * iteration): a finished call is recorded and a retry returns the recorded status; the
 * `webhook-id` header is stable, so a receiver can drop a repeat after a crash mid-call.
 * The journey's rate limit holds a call (retry at the next free moment) rather than drop it.
 * A URL whose host is or resolves to a non-public address (loopback, private, link-local such
 * as cloud metadata) fails for good without a call, unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on.
 */
export async function callWebhook(
  deps: ActivityDeps,
  input: CallWebhookInput,
): Promise<{ readonly status: number }> {
  const key = `${input.enrollmentId}:${input.stepId}:${input.iteration}`;
  const previous = await deps.prisma.sideEffect.findUnique({ where: { key } });
  const recorded = previous?.result;
  if (
    previous?.status === 'done' &&
    typeof recorded === 'object' &&
    recorded !== null &&
    'status' in recorded &&
    typeof recorded.status === 'number'
  )
    return { status: recorded.status };

  // Every HTTP call takes a slot of the journey's rate limit, a retry after a 5xx as much as
  // the first: the limit protects the receiver, and a struggling one most of all.
  const attempt = callsMadeBefore(previous) + 1;
  const slot = attempt === 1 ? key : `${key}#${attempt}`;
  const journey = await journeyInfo(deps, input.enrollmentId);
  if (journey?.rateLimit) await takeRateSlot(deps, slot, journey.journeyId, journey.rateLimit);

  const contactNamed = (id: string) =>
    deps.prisma.contact.findFirst({ where: { id, workspaceId: input.workspaceId } });
  let contact = await contactNamed(input.contactId);
  if (!contact) {
    const merged = await mergedContactOf(deps.sql, input.enrollmentId, input.contactId);
    if (merged) contact = await contactNamed(merged);
  }
  const data = {
    contact: contact ? contactView(contact) : { id: input.contactId },
    event: input.trigger,
    journey: journey && { key: journey.key, name: journey.name },
    step: { id: input.stepId },
    enrollment: { id: input.enrollmentId },
  };
  const { action } = input;
  const url = renderText(action.url, data);
  const body = action.method === 'GET' ? '' : JSON.stringify(renderJson(action.body ?? {}, data));
  const id = `msg_${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(action.headers).map(([k, v]) => [k, renderText(v, data)])),
    ...signWebhook(
      deps.config.secretKey,
      input.workspaceId,
      id,
      Math.floor(Date.now() / 1000),
      body,
    ),
    'user-agent': 'Drumbeat-Webhooks/1',
    ...(body === '' ? {} : { 'content-type': 'application/json' }),
  };

  const effect = { key, enrollmentId: input.enrollmentId, stepId: input.stepId, kind: 'webhook' };
  let status: number;
  try {
    status = await requestWebhook(new URL(url), {
      method: action.method,
      headers,
      body,
      timeoutMs: TIMEOUT_MS,
      allowPrivateNetworks: deps.config.webhookAllowPrivateNetworks === true,
    });
  } catch (error) {
    const permanent = permanentFailure(error, url);
    if (permanent) {
      await writeSideEffect(deps.sql, effect, 'failed', { error: permanent.message });
      throw ApplicationFailure.nonRetryable(permanent.message, permanent.type);
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (attempt < MAX_ATTEMPTS) {
      await noteCall(deps, key, input, attempt);
      throw retryLater(`Calling ${url} failed: ${reason}`, 'WEBHOOK_UNREACHABLE', attempt);
    }
    await writeSideEffect(deps.sql, effect, 'failed', { error: reason });
    throw ApplicationFailure.nonRetryable(
      `Calling ${url} failed ${attempt} times: ${reason}`,
      'WEBHOOK_UNREACHABLE',
    );
  }
  if ((status >= 500 || status === 429) && attempt < MAX_ATTEMPTS) {
    await noteCall(deps, key, input, attempt);
    throw retryLater(`${url} answered ${status}; trying again.`, 'WEBHOOK_RETRY', attempt);
  }

  await deps.prisma.webhookCall.updateMany({ where: { key: slot }, data: { status } });
  await writeSideEffect(deps.sql, effect, 'done', { status });
  return { status };
}

/** Failures a retry would repeat: a refused address, or no URL once placeholders are filled in. */
function permanentFailure(error: unknown, url: string): { message: string; type: string } | null {
  if (error instanceof PrivateAddressError)
    return {
      message: `${error.message} An administrator can allow private addresses with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.`,
      type: error.code,
    };
  if (error instanceof TypeError && 'code' in error && error.code === 'ERR_INVALID_URL')
    return {
      message: `The webhook URL is not a valid URL once its placeholders are filled in: ${url}`,
      type: 'WEBHOOK_BAD_URL',
    };
  return null;
}

/** Backoff by failed calls (1 s, 2 s, 4 s, ...; at most 5 min), not by attempts the limit held. */
function retryLater(message: string, type: string, calls: number): ApplicationFailure {
  const nextRetryDelay = Math.min(1000 * 2 ** (calls - 1), 300_000);
  return ApplicationFailure.create({ message, type, nextRetryDelay });
}

/** HTTP calls an earlier attempt made and recorded (0 when none, or after a crash mid-call). */
function callsMadeBefore(previous: { status: string; result: unknown } | null): number {
  const result = previous?.status === 'started' ? previous.result : null;
  return typeof result === 'object' &&
    result !== null &&
    'calls' in result &&
    typeof result.calls === 'number'
    ? result.calls
    : 0;
}

/** Records that one more call was made and failed in a way worth retrying. */
async function noteCall(
  deps: ActivityDeps,
  key: string,
  input: CallWebhookInput,
  calls: number,
): Promise<void> {
  await writeSideEffect(
    deps.sql,
    { key, enrollmentId: input.enrollmentId, stepId: input.stepId, kind: 'webhook' },
    'started',
    { calls },
  );
}

/**
 * Counts calls of this journey in the window under a lock; over the limit, retry later. `slot`
 * names one HTTP call: an attempt that took its slot and then died before calling finds it.
 */
async function takeRateSlot(
  deps: ActivityDeps,
  slot: string,
  journeyId: string,
  limit: { readonly count: number; readonly perMs: number },
): Promise<void> {
  const waitMs = await deps.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`webhook:${journeyId}`}))`;
    if (await tx.webhookCall.findUnique({ where: { key: slot } })) return 0;
    const since = new Date(Date.now() - limit.perMs);
    const recent = await tx.webhookCall.findMany({
      where: { journeyId, calledAt: { gt: since } },
      orderBy: { calledAt: 'desc' },
      take: limit.count,
      select: { calledAt: true },
    });
    const oldest = recent[limit.count - 1];
    if (recent.length >= limit.count && oldest)
      return Math.max(1, oldest.calledAt.getTime() + limit.perMs - Date.now());
    await tx.webhookCall.create({ data: { key: slot, journeyId } });
    return 0;
  });
  if (waitMs > 0)
    throw ApplicationFailure.create({
      message: `The journey's webhook rate limit is reached; calling again in ${Math.ceil(waitMs / 1000)} s.`,
      type: 'WEBHOOK_RATE_LIMITED',
      nextRetryDelay: waitMs,
    });
}
