import { exitSignal, pauseSignal, resumeSignal } from '../workflows/index.js';
import type { EngineDeps } from './deps.js';
import { invalidateJourneys } from './journey-catalog.js';
import { stopJourneySchedules, syncJourneySchedules } from './schedules.js';
import { RUNNING_STATUSES, signalEnrollment } from './signal.js';
import { readVersionPlan, type UnreadableVersion } from './stored-plan.js';

export type JourneyCommand = 'pause' | 'resume' | 'archive';

export type LifecycleResult =
  | { readonly ok: true; readonly status: string; readonly enrollmentsTold: number }
  | { readonly ok: false; readonly reason: 'not-found' | 'archived' }
  | { readonly ok: false; readonly reason: 'unreadable'; readonly unreadable: UnreadableVersion };

const STATUS_AFTER: Record<JourneyCommand, string> = {
  pause: 'paused',
  resume: 'active',
  archive: 'archived',
};

/**
 * Pauses, resumes or archives a journey. Paused journeys enroll no one and their running
 * enrollments hold before their next action; resuming lets them go on; archiving ends them
 * (and archiving an archived journey ends those still running).
 * The status is stored first, so an enrollment that starts meanwhile sees it. A journey whose
 * latest plan cannot be read is still paused or archived (its schedules stop without its
 * triggers being known), but not resumed: it could not run until it is published again.
 */
export async function changeJourneyStatus(
  deps: EngineDeps,
  workspaceId: string,
  key: string,
  command: JourneyCommand,
): Promise<LifecycleResult> {
  const journey = await deps.prisma.journey.findUnique({
    where: { workspaceId_key: { workspaceId, key } },
  });
  if (!journey) return { ok: false, reason: 'not-found' };
  // Archiving again tells what is still running to end: the archive that stored the status may
  // have failed part-way through telling its enrollments (Temporal unavailable), and the
  // client's retry finishes it.
  if (journey.status === 'archived' && command !== 'archive')
    return { ok: false, reason: 'archived' };
  const latest = await deps.prisma.journeyVersion.findFirst({
    where: { journeyId: journey.id, publishedAt: { not: null } },
    orderBy: { version: 'desc' },
  });
  const read = latest ? readVersionPlan(latest) : null;
  if (command === 'resume' && read?.ok === false)
    return { ok: false, reason: 'unreadable', unreadable: read.unreadable };
  const status = STATUS_AFTER[command];
  await deps.prisma.journey.update({ where: { id: journey.id }, data: { status } });
  invalidateJourneys(deps.prisma, workspaceId);
  if (latest && read?.ok)
    await syncJourneySchedules(deps, { ...journey, status }, latest.id, read.plan);
  // Paused or archived, a journey that cannot be read needs no triggers: its schedules stop.
  else if (read) await stopJourneySchedules(deps, { ...journey, status });
  const running = await deps.prisma.enrollment.findMany({
    where: { journeyVersion: { journeyId: journey.id }, status: { in: [...RUNNING_STATUSES] } },
    select: { id: true },
  });
  await Promise.all(
    running.map(({ id }) =>
      command === 'pause'
        ? signalEnrollment(deps.temporal, id, pauseSignal)
        : command === 'resume'
          ? signalEnrollment(deps.temporal, id, resumeSignal)
          : signalEnrollment(deps.temporal, id, exitSignal, { reason: 'journey-archived' }),
    ),
  );
  return { ok: true, status, enrollmentsTold: running.length };
}
