import type { PrismaClient } from '@prisma/client';
import type { Plan } from '../core/index.js';

/**
 * The active journeys of each workspace with their latest plans, as routing needs them on
 * every event. Read from the store at most once per `TTL_MS` per workspace (plans are
 * immutable per version, so only the list can go stale); publishing or changing a journey's
 * status in this process refreshes it at once, other processes within the TTL.
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
    // Plans are written only by publishJourney from the compiler's output: trusted as stored.
    return latest
      ? [{ journeyId: j.id, versionId: latest.id, plan: latest.plan as unknown as Plan }]
      : [];
  });
}
