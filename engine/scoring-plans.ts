import type { ScoringPlan } from '../definitions/index.js';
import type { Sql } from '../store/index.js';

export interface ActiveScoringPlan {
  readonly modelId: string;
  readonly versionId: string;
  readonly plan: ScoringPlan;
}

/** How long a process keeps the active versions it read: another process's activation shows within it. */
export const ACTIVE_PLANS_TTL_MS = 1_000;
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
  sql: Sql,
  workspaceId: string,
  now = Date.now(),
): Promise<ActiveScoringPlan[]> {
  const hit = cache.get(workspaceId);
  if (hit && now - hit.at < ACTIVE_PLANS_TTL_MS) return hit.plans;
  const plans = load(sql, workspaceId);
  cache.set(workspaceId, { at: now, plans });
  plans.catch(() => cache.delete(workspaceId));
  return plans;
}

export function forgetActivePlans(workspaceId: string): void {
  cache.delete(workspaceId);
}

async function load(sql: Sql, workspaceId: string): Promise<ActiveScoringPlan[]> {
  const rows = await sql.query<{ model_id: string; version_id: string; plan: unknown }>(
    `SELECT m.id AS model_id, v.id AS version_id, v.plan
     FROM scoring_models m JOIN scoring_model_versions v ON v.id = m.active_version_id
     WHERE m.workspace_id = $1
     ORDER BY m.created_at, m.id`,
    [workspaceId],
  );
  return rows.map((r) => ({
    modelId: r.model_id,
    versionId: r.version_id,
    plan: scoringPlanOf(r.plan),
  }));
}

/**
 * Reads a stored scoring plan. Plans are written only from the compiler's output, so the stored
 * JSON is trusted here (as `planOf` does for journeys) rather than validated on every batch.
 */
export function scoringPlanOf(stored: unknown): ScoringPlan {
  return stored as ScoringPlan;
}
