import type { PrismaClient } from '@prisma/client';

/** A workspace's sending rules; defaults when it never set any. */
export interface MessagingPolicyView {
  readonly quietHours: { readonly startMinute: number; readonly endMinute: number } | null;
  readonly sendDays: readonly number[];
  readonly fallbackTimezone: string;
  readonly cap: { readonly cap: number; readonly periodMs: number } | null;
  readonly transactional: readonly string[];
  readonly trackOpens: boolean;
  readonly trackClicks: boolean;
  readonly from: string | null;
  readonly replyTo: string | null;
}

export async function loadMessagingPolicy(
  prisma: PrismaClient,
  workspaceId: string,
): Promise<MessagingPolicyView> {
  const row = await prisma.messagingPolicy.findUnique({ where: { workspaceId } });
  if (!row)
    return {
      quietHours: null,
      sendDays: [],
      fallbackTimezone: 'UTC',
      cap: null,
      transactional: ['transactional'],
      trackOpens: false,
      trackClicks: false,
      from: null,
      replyTo: null,
    };
  return {
    quietHours:
      row.quietStartMinute === null || row.quietEndMinute === null
        ? null
        : { startMinute: row.quietStartMinute, endMinute: row.quietEndMinute },
    sendDays: row.sendDays,
    fallbackTimezone: row.fallbackTimezone,
    cap:
      row.frequencyCap === null
        ? null
        : { cap: row.frequencyCap, periodMs: row.frequencyPeriodSec * 1000 },
    transactional: row.transactional,
    trackOpens: row.trackOpens,
    trackClicks: row.trackClicks,
    from: row.fromAddress,
    replyTo: row.replyTo,
  };
}
