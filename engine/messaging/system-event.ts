import type { Event, Prisma } from '@prisma/client';
import { newId } from '../../store/index.js';
import type { EngineDeps } from '../deps.js';
import { routeEvent } from '../route.js';

/**
 * Records an event Drumbeat itself observed (unsubscribed, email_opened, task_completed, ...)
 * and routes it like any other, so journeys and score rules see it. `messageId` makes it
 * idempotent: recording the same one twice stores and routes it once.
 */
export async function recordSystemEvent(
  deps: EngineDeps,
  event: {
    readonly workspaceId: string;
    readonly contactId: string;
    readonly name: string;
    readonly messageId: string;
    readonly properties: Prisma.InputJsonObject;
    readonly timestamp?: Date;
  },
): Promise<Event> {
  const where = {
    workspaceId_messageId: { workspaceId: event.workspaceId, messageId: event.messageId },
  };
  let stored = await deps.prisma.event.findUnique({ where });
  if (!stored) {
    stored = await deps.prisma.event.upsert({
      where,
      create: {
        id: newId(),
        workspaceId: event.workspaceId,
        messageId: event.messageId,
        type: 'track',
        name: event.name,
        contactId: event.contactId,
        properties: event.properties,
        timestamp: event.timestamp ?? new Date(),
      },
      update: {},
    });
  }
  if (!stored.routedAt) await routeEvent(deps, stored);
  return stored;
}
