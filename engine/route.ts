import type { Event } from '@prisma/client';
import { contactEventSignal } from '../workflows/index.js';
import type { EngineDeps } from './deps.js';
import { enroll, type EnrollOutcome } from './enroll.js';
import { loadContactFacts } from './facts.js';
import { hasConditionTriggers, journeysMatchedBy, journeysTriggeredBy } from './journeys.js';
import { RUNNING_STATUSES, signalEnrollment } from './signal.js';

export interface RouteResult {
  readonly enrollments: readonly EnrollOutcome[];
  /** Running enrollments of the contact that were told about the event. */
  readonly signalled: number;
}

/**
 * Drives everything an event causes: running enrollments of the contact hear about it (waits
 * for events, goals, exits, suppression), then the journeys it triggers enroll the contact.
 * The event is marked routed only after all of that, so a crash in between means a re-route,
 * which the event id (deduplicated inside each workflow) and enrollment ids make harmless.
 */
export async function routeEvent(deps: EngineDeps, event: Event): Promise<RouteResult> {
  const properties = propertiesOf(event);
  const name = event.type === 'track' ? (event.name ?? '') : `$${event.type}`;
  let signalled = 0;
  const enrollments: EnrollOutcome[] = [];
  if (event.contactId) {
    const contactId = event.contactId;
    const [told, triggered] = await Promise.all([
      signalRunningEnrollments(deps, contactId, { id: event.id, name, properties }),
      event.type === 'track' && event.name
        ? journeysTriggeredBy(deps, event.workspaceId, { name: event.name, properties })
        : Promise.resolve([]),
    ]);
    signalled = told;
    // The contact's facts are read once for this event and shared by every entry decision.
    const watchesConditions = await hasConditionTriggers(deps, event.workspaceId);
    const facts =
      triggered.length > 0 || watchesConditions
        ? await loadContactFacts(deps.prisma, event.workspaceId, contactId, null)
        : null;
    const matched =
      facts && watchesConditions ? await journeysMatchedBy(deps, event.workspaceId, facts) : [];
    for (const journey of [
      ...triggered,
      ...matched.filter((m) => !triggered.some((t) => t.journeyId === m.journeyId)),
    ]) {
      enrollments.push(
        await enroll(deps, {
          workspaceId: event.workspaceId,
          journeyId: journey.journeyId,
          journeyVersionId: journey.versionId,
          plan: journey.plan,
          contactId,
          trigger: { eventId: event.id, name: event.name ?? name, properties },
          ...(facts ? { facts } : {}),
        }),
      );
    }
  }
  await deps.prisma.event.update({ where: { id: event.id }, data: { routedAt: new Date() } });
  return { enrollments, signalled };
}

async function signalRunningEnrollments(
  deps: EngineDeps,
  contactId: string,
  event: {
    readonly id: string;
    readonly name: string;
    readonly properties: Readonly<Record<string, unknown>>;
  },
): Promise<number> {
  const running = await deps.prisma.enrollment.findMany({
    where: { contactId, status: { in: [...RUNNING_STATUSES] } },
    select: { id: true },
  });
  await Promise.all(
    running.map(({ id }) => signalEnrollment(deps.temporal, id, contactEventSignal, event)),
  );
  return running.length;
}

/** Routes events that were stored but never routed (the process stopped in between). */
export async function routePendingEvents(deps: EngineDeps, batchSize = 100): Promise<number> {
  let routed = 0;
  for (;;) {
    const pending = await deps.prisma.event.findMany({
      where: { routedAt: null },
      orderBy: { id: 'asc' },
      take: batchSize,
    });
    for (const event of pending) {
      await routeEvent(deps, event);
      routed++;
    }
    if (pending.length < batchSize) return routed;
  }
}

function propertiesOf(event: Event): Record<string, unknown> {
  const p = event.properties;
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? p : {};
}
