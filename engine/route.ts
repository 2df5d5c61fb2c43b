import type { Event } from '@prisma/client';
import type { EngineDeps } from './deps.js';
import { enroll, type EnrollOutcome } from './enroll.js';
import { journeysTriggeredBy } from './journeys.js';

export interface RouteResult {
  readonly enrollments: readonly EnrollOutcome[];
}

/**
 * Drives everything an event causes: today, the journeys it triggers. Marks the event routed
 * only after every enrollment has started, so a crash in between means a re-route, which
 * enrollment ids make harmless.
 */
export async function routeEvent(deps: EngineDeps, event: Event): Promise<RouteResult> {
  const enrollments: EnrollOutcome[] = [];
  if (event.type === 'track' && event.name && event.contactId) {
    for (const journey of await journeysTriggeredBy(deps, event.workspaceId, event.name)) {
      enrollments.push(
        await enroll(deps, {
          workspaceId: event.workspaceId,
          journeyVersionId: journey.versionId,
          plan: journey.plan,
          contactId: event.contactId,
          trigger: { eventId: event.id, name: event.name, properties: propertiesOf(event) },
        }),
      );
    }
  }
  await deps.prisma.event.update({ where: { id: event.id }, data: { routedAt: new Date() } });
  return { enrollments };
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
