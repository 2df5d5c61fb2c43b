import type { PrismaClient } from '@prisma/client';
import { contactView } from '../engine/index.js';
import { ownerIdOf } from '../engine/contacts/owner.js';
import { notFound } from './problem.js';

/**
 * A contact as the API shows it: its attributes and built-in fields (as templates see them),
 * its owner, the static lists it is on and its enrollments.
 */
export async function contactBody(
  prisma: PrismaClient,
  workspaceId: string,
  key: string,
): Promise<Record<string, unknown>> {
  const contact = await prisma.contact.findFirst({
    where: { workspaceId, OR: [{ id: key }, { userId: key }] },
    include: {
      enrollments: {
        orderBy: { startedAt: 'asc' },
        include: { journeyVersion: { include: { journey: true } } },
      },
      lists: { include: { list: { select: { key: true } } }, orderBy: { addedAt: 'asc' } },
    },
  });
  if (!contact) throw notFound(`Contact \`${key}\``);
  return {
    ...contactView(contact),
    ownerId: ownerIdOf(contact),
    lists: contact.lists.map((m) => m.list.key),
    createdAt: contact.createdAt,
    updatedAt: contact.updatedAt,
    enrollments: contact.enrollments.map((e) => ({
      id: e.id,
      journey: e.journeyVersion.journey.key,
      version: e.journeyVersion.version,
      status: e.status,
      currentStep: e.currentStep,
    })),
  };
}
