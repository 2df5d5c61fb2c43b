import { Prisma, type Contact, type Event } from '@prisma/client';
import { newId } from '../store/index.js';
import type { EngineDeps } from './deps.js';
import { routeEvent, type RouteResult } from './route.js';

/** A Segment `identify` or `track` message after request validation. */
export interface IncomingMessage {
  readonly type: 'identify' | 'track';
  readonly messageId: string;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  readonly event: string | null;
  readonly traits: Readonly<Record<string, unknown>>;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly timestamp: Date;
}

export interface IngestResult {
  readonly eventId: string;
  readonly contactId: string | null;
  /** False when `messageId` was seen before: nothing was stored or routed again. */
  readonly stored: boolean;
  readonly routing: RouteResult | null;
}

/**
 * Stores a message durably (contact upsert and the event row in one transaction, deduplicated
 * by `messageId`) and then routes it. If routing fails or the process dies first, the event
 * stays unrouted and `routePendingEvents` picks it up on the next start.
 */
export async function ingest(
  deps: EngineDeps,
  workspaceId: string,
  message: IncomingMessage,
): Promise<IngestResult> {
  const stored = await store(deps, workspaceId, message);
  if (!stored.created)
    return {
      eventId: stored.event.id,
      contactId: stored.event.contactId,
      stored: false,
      routing: null,
    };
  const routing = await routeEvent(deps, stored.event);
  return { eventId: stored.event.id, contactId: stored.event.contactId, stored: true, routing };
}

async function store(
  deps: EngineDeps,
  workspaceId: string,
  message: IncomingMessage,
): Promise<{ event: Event; created: boolean }> {
  const existing = await deps.prisma.event.findUnique({
    where: { workspaceId_messageId: { workspaceId, messageId: message.messageId } },
  });
  if (existing) return { event: existing, created: false };
  try {
    const event = await deps.prisma.$transaction(async (tx) => {
      const contact = await upsertContact(tx, workspaceId, message);
      return tx.event.create({
        data: {
          id: newId(),
          workspaceId,
          messageId: message.messageId,
          type: message.type,
          name: message.event,
          contactId: contact?.id ?? null,
          userId: message.userId,
          anonymousId: message.anonymousId,
          properties: toJson(message.type === 'identify' ? message.traits : message.properties),
          timestamp: message.timestamp,
        },
      });
    });
    return { event, created: true };
  } catch (error) {
    // A concurrent request stored the same messageId first: that one routes it.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      const event = await deps.prisma.event.findUnique({
        where: { workspaceId_messageId: { workspaceId, messageId: message.messageId } },
      });
      if (event) return { event, created: false };
    }
    throw error;
  }
}

async function upsertContact(
  tx: Prisma.TransactionClient,
  workspaceId: string,
  message: IncomingMessage,
): Promise<Contact | null> {
  if (message.userId === null) return null;
  const email = typeof message.traits.email === 'string' ? message.traits.email.trim() : null;
  const { email: _email, ...traits } = message.traits;
  const current = await tx.contact.findUnique({
    where: { workspaceId_userId: { workspaceId, userId: message.userId } },
  });
  if (!current) {
    return tx.contact.create({
      data: {
        id: newId(),
        workspaceId,
        userId: message.userId,
        email,
        emailKey: email?.toLowerCase() ?? null,
        attributes: toJson(traits),
        timezone: stringTrait(message.traits, 'timezone'),
        locale: stringTrait(message.traits, 'locale'),
      },
    });
  }
  if (message.type !== 'identify') return current;
  const attributes = { ...(isRecord(current.attributes) ? current.attributes : {}), ...traits };
  return tx.contact.update({
    where: { id: current.id },
    data: {
      attributes: toJson(attributes),
      ...(email ? { email, emailKey: email.toLowerCase() } : {}),
      timezone: stringTrait(message.traits, 'timezone') ?? current.timezone,
      locale: stringTrait(message.traits, 'locale') ?? current.locale,
    },
  });
}

function stringTrait(traits: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = traits[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toJson(value: Readonly<Record<string, unknown>>): Prisma.InputJsonObject {
  return JSON.parse(JSON.stringify(value)) as Prisma.InputJsonObject;
}
