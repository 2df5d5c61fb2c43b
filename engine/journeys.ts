import type { Journey, JourneyVersion, Prisma } from '@prisma/client';
import {
  compileJourney,
  validateJourney,
  type JourneyDefinition,
  type Problem,
} from '../definitions/index.js';
import type { Plan } from '../core/index.js';
import { newId } from '../store/index.js';
import type { EngineDeps } from './deps.js';

export type PublishResult =
  | {
      readonly ok: true;
      readonly journey: Journey;
      readonly version: JourneyVersion;
      readonly created: boolean;
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Validates, compiles and publishes a journey definition. A definition whose plan hash equals
 * the latest version's is not published again; anything else becomes a new immutable version,
 * and the journey becomes active. Nothing is stored when validation fails.
 */
export async function publishJourney(
  deps: EngineDeps,
  workspaceId: string,
  document: unknown,
): Promise<PublishResult> {
  const validated = validateJourney(document, {
    templateExists: (name) => deps.templates.has(name),
  });
  if (!validated.ok) return validated;
  const definition: JourneyDefinition = validated.value;
  const plan = compileJourney(definition);

  return deps.prisma.$transaction(async (tx) => {
    const journey = await tx.journey.upsert({
      where: { workspaceId_key: { workspaceId, key: definition.id } },
      create: {
        id: newId(),
        workspaceId,
        key: definition.id,
        name: definition.name,
        status: 'active',
      },
      update: { name: definition.name, status: 'active' },
    });
    const latest = await tx.journeyVersion.findFirst({
      where: { journeyId: journey.id },
      orderBy: { version: 'desc' },
    });
    if (latest && latest.hash === plan.hash)
      return { ok: true as const, journey, version: latest, created: false };
    const version = await tx.journeyVersion.create({
      data: {
        id: newId(),
        journeyId: journey.id,
        version: (latest?.version ?? 0) + 1,
        hash: plan.hash,
        definition: toJson(definition),
        plan: toJson(plan),
        publishedAt: new Date(),
      },
    });
    return { ok: true as const, journey, version, created: true };
  });
}

/** Active journeys whose latest version is triggered by the event `name`. */
export async function journeysTriggeredBy(
  deps: EngineDeps,
  workspaceId: string,
  eventName: string,
): Promise<{ readonly versionId: string; readonly plan: Plan }[]> {
  const journeys = await deps.prisma.journey.findMany({
    where: { workspaceId, status: 'active' },
    include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
  });
  return journeys.flatMap((j) => {
    const latest = j.versions[0];
    if (!latest) return [];
    const plan = planOf(latest);
    return plan.triggers.some((t) => t.type === 'event' && t.event === eventName)
      ? [{ versionId: latest.id, plan }]
      : [];
  });
}

/**
 * Reads a stored plan. Plans are written only by `publishJourney` from the compiler's output,
 * so the stored JSON is trusted here rather than validated again on every event.
 */
export function planOf(version: JourneyVersion): Plan {
  return version.plan as unknown as Plan;
}

/** A JSON-only copy for a Json column (drops undefined, which Prisma refuses). */
function toJson(value: object): Prisma.InputJsonObject {
  return JSON.parse(JSON.stringify(value)) as Prisma.InputJsonObject;
}
