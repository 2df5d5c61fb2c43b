import { decideSend, type MessagingPolicyView, type SendDecision } from '../mail/index.js';
import { newId, sqlTime, type Sql } from '../store/index.js';
import type { MessageRow } from './send-email.store.js';

/**
 * The one place where "may this contact get another email now?" is answered and the slot
 * taken, under a per-contact advisory lock so two journeys cannot both take the last slot of
 * the frequency cap. A send that may go reserves its row in `email_messages` (which the cap
 * counts) before SMTP; a send that may not records a deferral for the enrollment history.
 */
export interface GateRequest {
  readonly key: string;
  readonly messageId: string;
  readonly workspaceId: string;
  readonly contactId: string;
  readonly enrollmentId: string;
  readonly stepId: string;
  readonly category: string;
  readonly zone: string;
  readonly priority: number;
  /** False for transactional categories: no window, no cap. */
  readonly restricted: boolean;
  readonly countsToCap: boolean;
  readonly links: readonly string[];
  readonly now: number;
}

/**
 * A deferral whose send never came back stops blocking after this. Those of an enrollment that
 * ended, of a send that failed, or of one that will not count toward the cap block nothing.
 */
const STALE_MS = 60 * 60 * 1000;

/**
 * `unrecorded`: the message row still to store once the email has gone (with the side
 * effect's settlement, in one statement), because no rule needed it reserved beforehand.
 */
export type GateDecision =
  | { readonly type: 'send'; readonly unrecorded: MessageRow | null }
  | Extract<SendDecision, { type: 'defer' }>;

export async function passGate(
  { sql }: { readonly sql: Sql },
  policy: MessagingPolicyView,
  req: GateRequest,
): Promise<GateDecision> {
  const ruled = policy.cap !== null || policy.quietHours !== null || policy.sendDays.length > 0;
  if (!req.restricted || !ruled) {
    const unrecorded = {
      ...req,
      id: req.messageId,
      countsToCap: req.restricted && req.countsToCap,
    };
    return { type: 'send', unrecorded };
  }
  // Plain SQL (store/sql.ts), four statements inside the transaction: Prisma's per-call cost
  // made this path several times slower. The lock is its own statement so that the reads after
  // it see every send that held it before.
  const decided = await sql.transaction(
    async (tx): Promise<SendDecision | { type: 'reserved' }> => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [req.contactId], {
        name: 'send-gate-lock',
      });
      const cap = req.countsToCap ? policy.cap : null;
      const [state] = await tx.query<GateState>(
        `SELECT EXISTS (SELECT 1 FROM email_messages WHERE id = $1) AS reserved,
         CASE WHEN $2::boolean THEN (
           SELECT coalesce(json_agg((extract(epoch FROM sent_at) * 1000)::float8), '[]'::json)
           FROM email_messages
           WHERE contact_id = $3 AND counts_to_cap AND sent_at > $4::timestamp(3)) END AS sent,
         CASE WHEN $2::boolean THEN (
           SELECT coalesce(json_agg(json_build_object('key', key, 'priority', priority,
             'createdMs', (extract(epoch FROM created_at) * 1000)::float8)), '[]'::json)
           FROM send_deferrals d
           WHERE contact_id = $3 AND resolved_at IS NULL AND key <> $5 AND counts_to_cap
             AND until <= $6::timestamp(3) AND until > $7::timestamp(3)
             AND NOT EXISTS (SELECT 1 FROM enrollments e
                             WHERE e.id = d.enrollment_id AND e.ended_at IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM side_effects s
                             WHERE s.key = d.key AND s.status = 'failed')) END AS waiting,
         (SELECT (extract(epoch FROM min(created_at)) * 1000)::float8
          FROM send_deferrals WHERE key = $5) AS mine_ms`,
        [
          req.messageId,
          cap !== null,
          req.contactId,
          sqlTime(req.now - (cap?.periodMs ?? 0)),
          req.key,
          sqlTime(req.now),
          sqlTime(req.now - STALE_MS),
        ],
        { name: 'send-gate-read' },
      );
      if (state?.reserved) {
        // Its cap slot was taken by the attempt that reserved it (and then failed to reach the
        // relay); the workspace's quiet hours and send days still hold for the retry, which may
        // come hours later. Held again, it counts toward no one's queue: its slot is taken.
        const open = decideSend({
          now: req.now,
          zone: req.zone,
          window: { quietHours: policy.quietHours, sendDays: policy.sendDays },
          cap: null,
          sentAt: [],
          ahead: 0,
        });
        if (open.type === 'send') {
          // The cap counts it from when it goes, not from the attempt that reserved it: a
          // send held overnight would otherwise leave its slot free a night early.
          await tx.query(`UPDATE email_messages SET sent_at = $2::timestamp(3) WHERE id = $1`, [
            req.messageId,
            sqlTime(req.now),
          ]);
          return { type: 'reserved' };
        }
        await defer(tx, req, open, false);
        return open;
      }
      const queuedAt = state?.mine_ms ?? req.now;
      const ahead = new Set(
        (state?.waiting ?? [])
          .filter(
            (w) =>
              w.priority > req.priority || (w.priority === req.priority && w.createdMs < queuedAt),
          )
          .map((w) => w.key),
      ).size;
      const decision: SendDecision = decideSend({
        now: req.now,
        zone: req.zone,
        window: { quietHours: policy.quietHours, sendDays: policy.sendDays },
        cap,
        sentAt: state?.sent ?? [],
        ahead,
      });
      if (decision.type === 'defer') {
        await defer(tx, req, decision, req.countsToCap);
        return decision;
      }
      // The reservation (which the cap counts) and the end of this send's earlier deferrals.
      await tx.query(
        `WITH d AS (UPDATE send_deferrals SET resolved_at = $10::timestamp(3) WHERE key = $9 AND resolved_at IS NULL)
       INSERT INTO email_messages (id, workspace_id, contact_id, enrollment_id, step_id, category, counts_to_cap, links, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $10::timestamp(3))`,
        [
          req.messageId,
          req.workspaceId,
          req.contactId,
          req.enrollmentId,
          req.stepId,
          req.category,
          req.countsToCap,
          [...req.links],
          req.key,
          sqlTime(req.now),
        ],
        { name: 'send-gate-reserve' },
      );
      return decision;
    },
  );
  return decided.type === 'defer' ? decided : { type: 'send', unrecorded: null };
}

/** Records that the send is held, and why, for the enrollment's history and the cap's queue. */
async function defer(
  tx: Sql,
  req: GateRequest,
  decision: Extract<SendDecision, { type: 'defer' }>,
  countsToCap: boolean,
): Promise<void> {
  await tx.query(
    `INSERT INTO send_deferrals (id, key, workspace_id, contact_id, enrollment_id, step_id, priority, reason, until, created_at, counts_to_cap)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamp(3), $10::timestamp(3), $11)`,
    [
      newId(),
      req.key,
      req.workspaceId,
      req.contactId,
      req.enrollmentId,
      req.stepId,
      req.priority,
      decision.reason,
      sqlTime(decision.until),
      sqlTime(req.now),
      countsToCap,
    ],
    { name: 'send-gate-defer' },
  );
}

interface GateState {
  readonly reserved: boolean;
  /** Sends that count toward the cap within its period (epoch ms); null without a cap. */
  readonly sent: number[] | null;
  /** Other sends of this contact waiting for a slot now; null without a cap. */
  readonly waiting: { key: string; priority: number; createdMs: number }[] | null;
  /** When this send was first held, if it was. */
  readonly mine_ms: number | null;
}
