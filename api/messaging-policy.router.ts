import { Router } from 'express';
import { parseDuration } from '../core/index.js';
import { minuteOfDay, weekdayNumbers } from '../definitions/time.compile.js';
import { timeZoneProblems } from '../definitions/value.check.js';
import type { EngineDeps } from '../engine/index.js';
import { loadMessagingPolicy, type MessagingPolicyView } from '../mail/index.js';
import { invalidInput } from './problem.js';
import { MessagingPolicySchema } from './schemas/messaging.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readPolicy = bodyValidator(MessagingPolicySchema);

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTE_MS = 60_000;
const YEAR_MS = 366 * 24 * 60 * MINUTE_MS;
/** `Name <address>` or a bare address: something a mail server will take as a sender. */
const ADDRESS = /^(?:[^<>]*<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/;

/**
 * The workspace's sending rules: quiet hours and send days in each contact's time zone, the
 * frequency cap, which categories are transactional, tracking, and the sender. Anyone with a
 * `write` key may read them; changing them needs an `admin` key (api/auth). `PUT` sets the
 * whole policy: a field left out takes its default. Senders see a change within 2 seconds.
 */
export function messagingPolicyRouter(engine: EngineDeps): Router {
  const router = Router();

  router.get('/v1/messaging-policy', async (req, res) => {
    res.json(policyBody(await loadMessagingPolicy(engine.prisma, workspaceOf(req))));
  });

  router.put('/v1/messaging-policy', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const body = readPolicy(req.body);
    const problems = timeZoneProblems(body.fallbackTimezone, ['fallbackTimezone']);
    if (body.quietHours && body.quietHours.start === body.quietHours.end)
      problems.push({
        pointer: '/quietHours/end',
        code: 'empty-quiet-hours',
        message: 'Quiet hours that start and end at the same time hold nothing; leave them out.',
      });
    const periodMs = body.frequencyCap ? parseDuration(body.frequencyCap.per) : undefined;
    if (body.frequencyCap && (periodMs === undefined || periodMs < MINUTE_MS || periodMs > YEAR_MS))
      problems.push({
        pointer: '/frequencyCap/per',
        code: 'bad-period',
        message: 'The cap’s period must be from one minute (`PT1M`) to a year (`P365D`).',
      });
    for (const field of ['from', 'replyTo'] as const) {
      const value = body[field];
      if (typeof value === 'string' && !ADDRESS.test(value.trim()))
        problems.push({
          pointer: `/${field}`,
          code: 'bad-address',
          message: `\`${value}\` is not an email address; write \`news@example.com\` or \`Example News <news@example.com>\`.`,
        });
    }
    if (problems.length > 0)
      throw invalidInput('The messaging policy has problems; nothing was changed.', problems);

    const data = {
      quietStartMinute: body.quietHours ? minuteOfDay(body.quietHours.start) : null,
      quietEndMinute: body.quietHours ? minuteOfDay(body.quietHours.end) : null,
      sendDays: weekdayNumbers(body.sendDays ?? undefined),
      fallbackTimezone: body.fallbackTimezone ?? 'UTC',
      frequencyCap: body.frequencyCap?.count ?? null,
      frequencyPeriodSec: periodMs === undefined ? 604_800 : Math.round(periodMs / 1000),
      transactional: body.transactional ?? ['transactional'],
      trackOpens: body.trackOpens ?? false,
      trackClicks: body.trackClicks ?? false,
      fromAddress: body.from?.trim() ?? null,
      replyTo: body.replyTo?.trim() ?? null,
    };
    await engine.prisma.messagingPolicy.upsert({
      where: { workspaceId },
      create: { workspaceId, ...data },
      update: data,
    });
    res.json(policyBody(await loadMessagingPolicy(engine.prisma, workspaceId)));
  });

  return router;
}

/** The policy as the API shows it: the shape `PUT` takes, every field given. */
function policyBody(policy: MessagingPolicyView): Record<string, unknown> {
  const time = (minute: number) =>
    `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return {
    quietHours: policy.quietHours
      ? { start: time(policy.quietHours.startMinute), end: time(policy.quietHours.endMinute) }
      : null,
    sendDays:
      policy.sendDays.length === 0 ? null : policy.sendDays.map((n) => DAYS[n] ?? String(n)),
    fallbackTimezone: policy.fallbackTimezone,
    frequencyCap: policy.cap
      ? { count: policy.cap.cap, per: isoPeriod(policy.cap.periodMs) }
      : null,
    transactional: policy.transactional,
    trackOpens: policy.trackOpens,
    trackClicks: policy.trackClicks,
    from: policy.from,
    replyTo: policy.replyTo,
  };
}

/** A period as ISO 8601, in whole days when it is whole days (`P7D`), else in seconds. */
function isoPeriod(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds % 86_400 === 0) return `P${seconds / 86_400}D`;
  if (seconds % 3600 === 0) return `PT${seconds / 3600}H`;
  if (seconds % 60 === 0) return `PT${seconds / 60}M`;
  return `PT${seconds}S`;
}
