import type { PrismaClient } from '@prisma/client';
import {
  decideEntry,
  type EntryDecision,
  type EventFacts,
  type Facts,
  type Plan,
} from '../core/index.js';
import { loadContactFacts } from './facts.js';

export interface PastEnrollmentRow {
  readonly id: string;
  readonly entryKey: string;
  readonly status: string;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
}

export type EntryVerdict =
  | { readonly found: false }
  | {
      readonly found: true;
      readonly decision: EntryDecision;
      readonly past: readonly PastEnrollmentRow[];
    };

/**
 * The journey's entry rules (the pure `decideEntry` the simulator uses) applied to the
 * contact's facts and its earlier enrollments in the journey. Enrolling and "why is this
 * contact not in this journey?" both ask here, so they cannot disagree. `facts` may be given
 * when the caller already loaded them for the same event.
 */
export async function entryVerdict(
  prisma: PrismaClient,
  request: {
    readonly workspaceId: string;
    readonly journeyId: string;
    readonly plan: Plan;
    readonly contactId: string;
    readonly trigger: EventFacts | null;
    readonly facts?: Facts;
  },
): Promise<EntryVerdict> {
  const [facts, past] = await Promise.all([
    request.facts ?? loadContactFacts(prisma, request.workspaceId, request.contactId, null),
    prisma.enrollment.findMany({
      where: { contactId: request.contactId, journeyVersion: { journeyId: request.journeyId } },
      select: { id: true, entryKey: true, status: true, startedAt: true, endedAt: true },
      orderBy: { startedAt: 'asc' },
    }),
  ]);
  if (!facts) return { found: false };
  const decision = decideEntry(request.plan, {
    facts,
    trigger: request.trigger,
    history: past.map((p) => ({
      entryKey: p.entryKey,
      startedAt: p.startedAt.getTime(),
      endedAt: p.endedAt?.getTime() ?? null,
    })),
    now: Date.now(),
  });
  return { found: true, decision, past };
}
