import type { PrismaClient } from '@prisma/client';
import type { Plan } from '../core/index.js';
import { unreadableJourneys } from '../metrics/index.js';
import { readStoredPlan } from './stored-plan.js';

/**
 * The active journeys of each workspace with their latest plans, as routing needs them on
 * every event. Read from the store at most once per `TTL_MS` per workspace (plans are
 * immutable per version, so only the list can go stale); publishing or changing a journey's
 * status in this process refreshes it at once, other processes within the TTL. A journey whose
 * stored plan cannot be read is left out (logged and counted once), so it starts no one while
 * the rest of the workspace's events are routed as ever.
 */
export interface ActiveJourney {
  readonly journeyId: string;
  readonly versionId: string;
  readonly plan: Plan;
}

const TTL_MS = 2000;

interface Entry {
  readonly loadedAt: number;
  readonly journeys: Promise<readonly ActiveJourney[]>;
}

const catalogs = new WeakMap<PrismaClient, Map<string, Entry>>();

export function activeJourneys(
  prisma: PrismaClient,
  workspaceId: string,
  now = Date.now(),
): Promise<readonly ActiveJourney[]> {
  let byWorkspace = catalogs.get(prisma);
  if (!byWorkspace) {
    byWorkspace = new Map();
    catalogs.set(prisma, byWorkspace);
  }
  const cached = byWorkspace.get(workspaceId);
  if (cached && now - cached.loadedAt < TTL_MS) return cached.journeys;
  const journeys = load(prisma, workspaceId);
  byWorkspace.set(workspaceId, { loadedAt: now, journeys });
  journeys.catch(() => byWorkspace.delete(workspaceId));
  return journeys;
}

/** Forget what is cached for a workspace (after a publish, pause, resume or archive). */
export function invalidateJourneys(prisma: PrismaClient, workspaceId: string): void {
  catalogs.get(prisma)?.delete(workspaceId);
}

async function load(prisma: PrismaClient, workspaceId: string): Promise<readonly ActiveJourney[]> {
  const journeys = await prisma.journey.findMany({
    where: { workspaceId, status: 'active' },
    include: {
      versions: {
        where: { publishedAt: { not: null } },
        orderBy: { version: 'desc' },
        take: 1,
        select: { id: true, plan: true },
      },
    },
  });
  return journeys.flatMap((j) => {
    const latest = j.versions[0];
    if (!latest) return [];
    const read = readStoredPlan(latest.plan);
    if (read.ok) return [{ journeyId: j.id, versionId: latest.id, plan: read.plan }];
    reportUnreadable({ ...j, versionId: latest.id }, read.detail);
    return [];
  });
}

/** Version ids already reported by this process: the catalog is read again every few seconds. */
const reported = new Set<string>();

function reportUnreadable(
  journey: { id: string; key: string; workspaceId: string; versionId: string },
  detail: string,
): void {
  if (reported.has(journey.versionId)) return;
  reported.add(journey.versionId);
  unreadableJourneys.inc();
  console.error(
    `[drumbeat] journey ${journey.key} (id ${journey.id}, version ${journey.versionId}, ` +
      `workspace ${journey.workspaceId}) is left out of routing: ${detail}. Publish it again.`,
  );
}
