import type { PrismaClient } from '@prisma/client';
import type { Sql } from '../store/index.js';

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

const DEFAULT_POLICY: MessagingPolicyView = {
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

/** The stored columns, as the Prisma model names them. */
interface PolicyRow {
  readonly quietStartMinute: number | null;
  readonly quietEndMinute: number | null;
  readonly sendDays: number[];
  readonly fallbackTimezone: string;
  readonly frequencyCap: number | null;
  readonly frequencyPeriodSec: number;
  readonly transactional: string[];
  readonly trackOpens: boolean;
  readonly trackClicks: boolean;
  readonly fromAddress: string | null;
  readonly replyTo: string | null;
}

export async function loadMessagingPolicy(
  prisma: PrismaClient,
  workspaceId: string,
): Promise<MessagingPolicyView> {
  const row = await prisma.messagingPolicy.findUnique({ where: { workspaceId } });
  return row ? policyView(row) : DEFAULT_POLICY;
}

/** The same through plain SQL, for the send path (store/sql.ts). */
export async function readMessagingPolicy(
  sql: Sql,
  workspaceId: string,
): Promise<MessagingPolicyView> {
  const [row] = await sql.query<PolicyRow>(
    `SELECT quiet_start_minute AS "quietStartMinute", quiet_end_minute AS "quietEndMinute",
       send_days AS "sendDays", fallback_timezone AS "fallbackTimezone",
       frequency_cap AS "frequencyCap", frequency_period_sec AS "frequencyPeriodSec",
       transactional, track_opens AS "trackOpens", track_clicks AS "trackClicks",
       from_address AS "fromAddress", reply_to AS "replyTo"
     FROM messaging_policies WHERE workspace_id = $1`,
    [workspaceId],
  );
  return row ? policyView(row) : DEFAULT_POLICY;
}

function policyView(row: PolicyRow): MessagingPolicyView {
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
