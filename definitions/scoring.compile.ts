import type { PlanCondition } from '../core/index.js';
import { compileCondition } from './condition.compile.js';
import { hashOf } from './hash.js';
import type { ScoringModelDefinition } from './scoring.schema.js';
import { ms } from './time.compile.js';

/**
 * A validated scoring model in the form the scoring engine reads: durations in ms, conditions
 * parsed, content-hashed like journey plans so unchanged models are not versioned again.
 */
export interface ScoringPlan {
  readonly modelKey: string;
  readonly name: string;
  readonly hash: string;
  readonly eventRules: readonly {
    readonly id: string;
    readonly event: string;
    readonly filter: PlanCondition | null;
    readonly points: number;
    readonly cap: { readonly points: number; readonly perMs: number } | null;
  }[];
  readonly halfLifeMs: number | null;
  readonly fitRules: readonly {
    readonly id: string;
    readonly condition: PlanCondition;
    readonly points: number;
  }[];
  readonly thresholds: readonly {
    readonly stage: string;
    readonly score: 'lead' | 'engagement' | 'fit';
    readonly enterAt: number;
    readonly exitBelow: number;
  }[];
}

export function compileScoringModel(model: ScoringModelDefinition): ScoringPlan {
  const body = {
    modelKey: model.id,
    name: model.name,
    eventRules: model.engagement.rules.map((r) => ({
      id: r.id,
      event: r.event,
      filter: r.filter ? compileCondition(r.filter) : null,
      points: r.points,
      cap: r.cap ? { points: r.cap.points, perMs: ms(r.cap.per) } : null,
    })),
    halfLifeMs: model.engagement.halfLife === undefined ? null : ms(model.engagement.halfLife),
    fitRules: (model.fit?.rules ?? []).map((r) => ({
      id: r.id,
      condition: compileCondition(r.condition),
      points: r.points,
    })),
    thresholds: (model.lifecycle?.thresholds ?? []).map((t) => ({
      stage: t.stage,
      score: t.score ?? 'lead',
      enterAt: t.enterAt,
      exitBelow: t.exitBelow ?? t.enterAt,
    })),
  };
  return { ...body, hash: hashOf(body) };
}
