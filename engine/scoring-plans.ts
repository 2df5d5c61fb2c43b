import type { PrismaClient } from '@prisma/client';
import type { ScoringPlan } from '../definitions/index.js';

export interface ActiveScoringPlan {
  readonly modelId: string;
  readonly versionId: string;
  readonly plan: ScoringPlan;
}

const TTL_MS = 1_000;
const cache = new Map<
  string,
  { readonly at: number; readonly plans: Promise<ActiveScoringPlan[]> }
>();

/**
 * The workspace's active scoring model versions. Read on every batch, so kept for a second:
 * another process activating a model is seen within that second; this process drops the entry
 * at once (`forgetActivePlans`).
 */
export function activeScoringPlans(
  prisma: PrismaClient,
  workspaceId: string,
  now = Date.now(),
): Promise<ActiveScoringPlan[]> {
  const hit = cache.get(workspaceId);
  if (hit && now - hit.at < TTL_MS) return hit.plans;
  const plans = load(prisma, workspaceId);
  cache.set(workspaceId, { at: now, plans });
  plans.catch(() => cache.delete(workspaceId));
  return plans;
}

export function forgetActivePlans(workspaceId: string): void {
  cache.delete(workspaceId);
}

async function load(prisma: PrismaClient, workspaceId: string): Promise<ActiveScoringPlan[]> {
  const models = await prisma.scoringModel.findMany({
    where: { workspaceId, activeVersionId: { not: null } },
    include: { versions: true },
  });
  return models.flatMap((m) => {
    const version = m.versions.find((v) => v.id === m.activeVersionId);
    return version
      ? [{ modelId: m.id, versionId: version.id, plan: scoringPlanOf(version.plan) }]
      : [];
  });
}

/**
 * Reads a stored scoring plan. Plans are written only from the compiler's output, so the stored
 * JSON is trusted here (as `planOf` does for journeys) rather than validated on every batch.
 */
export function scoringPlanOf(stored: unknown): ScoringPlan {
  return stored as ScoringPlan;
}
