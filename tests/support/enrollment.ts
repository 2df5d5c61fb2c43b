import { planOf } from '../../engine/index.js';
import { newId } from '../../store/index.js';
import type { JourneyWorkflowInput } from '../../workflows/index.js';
import type { startTestEngine } from './engine.js';
import type { ApiClient } from './http.js';

/**
 * The contact `userId` (identified through the API, at `<userId>@example.com`) and a pending
 * enrollment of it in the published journey `journeyKey`, as the API makes them before it
 * starts the workflow; with the workflow's input, for a test to start it as it needs.
 */
export async function pendingEnrollment(
  engine: Awaited<ReturnType<typeof startTestEngine>>,
  api: ApiClient,
  { userId, journeyKey, traits = {} }: PendingEnrollmentOptions,
): Promise<{ enrollmentId: string; input: JourneyWorkflowInput; email: string }> {
  const email = `${userId}@example.com`;
  await api.post('/v1/identify', { userId, traits: { email, ...traits } });
  const prisma = engine.deps.prisma;
  const contact = await prisma.contact.findFirstOrThrow({ where: { userId } });
  const version = await prisma.journeyVersion.findFirstOrThrow({
    where: { journey: { key: journeyKey } },
  });
  const enrollmentId = `enrollment/test/${userId}`;
  await prisma.enrollment.create({
    data: {
      id: enrollmentId,
      workspaceId: contact.workspaceId,
      journeyVersionId: version.id,
      contactId: contact.id,
      entryKey: newId(),
      status: 'pending',
    },
  });
  const input: JourneyWorkflowInput = {
    workspaceId: contact.workspaceId,
    journeyVersionId: version.id,
    contactId: contact.id,
    plan: planOf(version),
    trigger: { eventId: null, name: null, properties: {} },
  };
  return { enrollmentId, input, email };
}

export interface PendingEnrollmentOptions {
  readonly userId: string;
  readonly journeyKey: string;
  readonly traits?: Readonly<Record<string, unknown>>;
}
