import type { PrismaClient } from '@prisma/client';
import { decideSend, type MessagingPolicyView, type SendDecision } from '../mail/index.js';
import { newId } from '../store/index.js';
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

/** A deferral whose send never came back (its enrollment ended) stops blocking after this. */
const STALE_MS = 60 * 60 * 1000;

/**
 * `unrecorded`: the message row still to store once the email has gone (with the side
 * effect's settlement, in one statement), because no rule needed it reserved beforehand.
 */
export type GateDecision =
  | { readonly type: 'send'; readonly unrecorded: MessageRow | null }
  | Extract<SendDecision, { type: 'defer' }>;

export async function passGate(
  { prisma }: { readonly prisma: PrismaClient },
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
  const decided = await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${req.contactId}))`;
    const reserved = await tx.emailMessage.findUnique({ where: { id: req.messageId } });
    if (reserved) return { type: 'send' } as const;
    const cap = req.countsToCap ? policy.cap : null;
    const since = new Date(req.now - (cap?.periodMs ?? 0));
    const sent = cap
      ? await tx.emailMessage.findMany({
          where: { contactId: req.contactId, countsToCap: true, sentAt: { gt: since } },
          select: { sentAt: true },
        })
      : [];
    const waiting = cap
      ? await tx.sendDeferral.findMany({
          where: {
            contactId: req.contactId,
            resolvedAt: null,
            key: { not: req.key },
            until: { lte: new Date(req.now), gt: new Date(req.now - STALE_MS) },
          },
          select: { key: true, priority: true, createdAt: true },
        })
      : [];
    const mine = await tx.sendDeferral.findFirst({
      where: { key: req.key },
      orderBy: { createdAt: 'asc' },
      select: { createdAt: true },
    });
    const queuedAt = mine?.createdAt.getTime() ?? req.now;
    const ahead = new Set(
      waiting
        .filter(
          (w) =>
            w.priority > req.priority ||
            (w.priority === req.priority && w.createdAt.getTime() < queuedAt),
        )
        .map((w) => w.key),
    ).size;
    const decision: SendDecision = decideSend({
      now: req.now,
      zone: req.zone,
      window: { quietHours: policy.quietHours, sendDays: policy.sendDays },
      cap,
      sentAt: sent.map((s) => s.sentAt.getTime()),
      ahead,
    });
    if (decision.type === 'defer') {
      await tx.sendDeferral.create({
        data: {
          id: newId(),
          key: req.key,
          workspaceId: req.workspaceId,
          contactId: req.contactId,
          enrollmentId: req.enrollmentId,
          stepId: req.stepId,
          priority: req.priority,
          reason: decision.reason,
          until: new Date(decision.until),
        },
      });
      return decision;
    }
    await tx.emailMessage.create({
      data: {
        id: req.messageId,
        workspaceId: req.workspaceId,
        contactId: req.contactId,
        enrollmentId: req.enrollmentId,
        stepId: req.stepId,
        category: req.category,
        countsToCap: req.countsToCap,
        links: [...req.links],
        sentAt: new Date(req.now),
      },
    });
    await tx.sendDeferral.updateMany({
      where: { key: req.key, resolvedAt: null },
      data: { resolvedAt: new Date(req.now) },
    });
    return decision;
  });
  return decided.type === 'send' ? { type: 'send', unrecorded: null } : decided;
}
