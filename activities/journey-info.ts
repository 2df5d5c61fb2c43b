import type { PrismaClient } from '@prisma/client';
import type { PlanSettings } from '../core/index.js';
import { isRecord } from '../engine/index.js';
import { readStoredPlan } from '../engine/stored-plan.js';
import type { Sql } from '../store/index.js';

/**
 * What a side effect needs to know about the journey an enrollment belongs to: names for
 * templates, the priority for the frequency cap, the webhook rate limit. Published versions
 * never change, so each is read once per process.
 */
export interface JourneyInfo {
  readonly journeyId: string;
  readonly key: string;
  readonly name: string;
  /** 2 = high, 1 = normal, 0 = low: higher goes first when the cap has one free slot. */
  readonly priority: number;
  readonly countsTowardFrequencyCap: boolean;
  readonly rateLimit: { readonly count: number; readonly perMs: number } | null;
  /** The journey's own send window (quiet hours, send days), when it has one. */
  readonly window: PlanSettings | null;
}

const cache = new Map<string, JourneyInfo>();

export async function journeyInfo(
  deps: { readonly prisma: PrismaClient; readonly sql: Sql },
  enrollmentId: string,
): Promise<JourneyInfo | null> {
  // Plain SQL: this runs on every webhook call, and Prisma's per-call cost showed in the bench.
  const [enrollment] = await deps.sql.query<{ journey_version_id: string }>(
    `SELECT journey_version_id FROM enrollments WHERE id = $1`,
    [enrollmentId],
  );
  return enrollment ? journeyVersionInfo(deps, enrollment.journey_version_id) : null;
}

/** The same for a journey version the caller already read (the send reads it with its rows). */
export async function journeyVersionInfo(
  { prisma }: { readonly prisma: PrismaClient },
  versionId: string,
): Promise<JourneyInfo | null> {
  const cached = cache.get(versionId);
  if (cached) return cached;
  const version = await prisma.journeyVersion.findUnique({
    where: { id: versionId },
    select: { plan: true, journey: { select: { id: true, key: true, name: true } } },
  });
  if (!version) return null;
  const settings =
    isRecord(version.plan) && isRecord(version.plan.settings) ? version.plan.settings : {};
  const rate = isRecord(settings.rateLimit) ? settings.rateLimit : null;
  const read = readStoredPlan(version.plan);
  const window =
    read.ok && (read.plan.settings.quietHours || read.plan.settings.sendDays.length > 0)
      ? read.plan.settings
      : null;
  const info: JourneyInfo = {
    journeyId: version.journey.id,
    key: version.journey.key,
    name: version.journey.name,
    priority: settings.priority === 'high' ? 2 : settings.priority === 'low' ? 0 : 1,
    countsTowardFrequencyCap: settings.countsTowardFrequencyCap !== false,
    rateLimit:
      rate && typeof rate.count === 'number' && typeof rate.perMs === 'number'
        ? { count: rate.count, perMs: rate.perMs }
        : null,
    window,
  };
  cache.set(versionId, info);
  return info;
}
