import type { EngineDeps } from './deps.js';
import { fitScore, grade, valueAt, type FitRuleResult } from '../scoring/index.js';
import { activeScoringPlans } from './scoring-plans.js';
import { factsOf } from './stage-update.js';
import { isRecord } from './contact-view.js';
import { settleScores } from './scorer.js';

export interface RuleExplanation {
  readonly rule: string;
  readonly events: number;
  /** Points the rule gave (after its cap), before decay. */
  readonly points: number;
  /** What those points are worth now. */
  readonly now: number;
  readonly lastAt: string | null;
}

export interface ContactScoreView {
  readonly model: string;
  readonly version: string;
  readonly engagement: number;
  readonly fit: number;
  readonly lead: number;
  readonly grade: string;
  readonly stage: string | null;
  readonly explanation: {
    readonly engagement: readonly RuleExplanation[];
    readonly decayTookAway: number;
    readonly fit: readonly FitRuleResult[];
  };
}

/**
 * A contact's scores under every active model, decayed exactly to `now`, with the explanation:
 * which rules gave which points, when, and what decay took away.
 */
export async function contactScores(
  deps: EngineDeps,
  workspaceId: string,
  contactId: string,
  nowMs = Date.now(),
): Promise<ContactScoreView[]> {
  const { prisma, sql } = deps;
  await settleScores(deps); // what the caller sent in a batch is scored before it is read
  const contact = await prisma.contact.findFirst({ where: { id: contactId, workspaceId } });
  if (!contact) return [];
  const views: ContactScoreView[] = [];
  for (const model of await activeScoringPlans(sql, workspaceId)) {
    const stored = await prisma.contactScore.findUnique({
      where: { contactId_versionId: { contactId, versionId: model.versionId } },
    });
    const rules = await prisma.$queryRawUnsafe<
      { rule_id: string; n: number; points: number; now: number; last: Date | null }[]
    >(
      `SELECT rule_id, count(*)::int AS n, sum(points) AS points,
              sum(points * power(2, GREATEST((extract(epoch FROM at) * 1000 - $3::float8) / $4::float8, -1000))) AS now,
              max(at) AS last
       FROM score_entries WHERE contact_id = $1 AND version_id = $2 GROUP BY rule_id ORDER BY rule_id`,
      contactId,
      model.versionId,
      nowMs,
      model.plan.halfLifeMs ?? 'Infinity',
    );
    const engagement = stored
      ? valueAt({ sum: stored.decayedSum, anchorMs: stored.anchorMs }, nowMs, model.plan.halfLifeMs)
      : 0;
    const fit = fitScore(model.plan, factsOf(contact), nowMs);
    const attributes = isRecord(contact.attributes) ? contact.attributes : {};
    views.push({
      model: model.plan.modelKey,
      version: model.versionId,
      engagement,
      fit: fit.total,
      lead: engagement + fit.total,
      grade: grade(model.plan, fit.total, engagement),
      stage: typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
      explanation: {
        engagement: rules.map((r) => ({
          rule: r.rule_id,
          events: r.n,
          points: Number(r.points),
          now: Number(r.now),
          lastAt: r.last ? new Date(r.last).toISOString() : null,
        })),
        decayTookAway: (stored?.points ?? 0) - engagement,
        fit: fit.rules,
      },
    });
  }
  return views;
}
