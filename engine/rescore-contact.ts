import type { Prisma } from '@prisma/client';
import { foldEvents, type FoldEvent } from '../scoring/index.js';
import { isRecord } from './contact-view.js';
import type { ActiveScoringPlan } from './scoring-plans.js';

/**
 * Recomputes one contact's score under one model version from its whole event history and
 * replaces what was stored: used when a model version is applied and when contacts merge.
 * The score row is locked first, so an ingest or a scorer pass for the same contact waits, then
 * adds on top; events a pass had not reached before that are left to it (see engine/scorer.ts).
 */
export async function rescoreContact(
  tx: Prisma.TransactionClient,
  model: ActiveScoringPlan,
  contactId: string,
): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO contact_scores (contact_id, version_id, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (contact_id, version_id) DO UPDATE SET updated_at = now()`,
    contactId,
    model.versionId,
  );
  // Events the background scorer has not reached are left to it: it adds them on top.
  const events = await tx.$queryRawUnsafe<
    {
      id: string;
      name: string | null;
      properties: Prisma.JsonValue;
      timestamp: Date;
      receivedAt: Date;
    }[]
  >(
    `SELECT e.id, e.name, e.properties, e.timestamp, e.received_at AS "receivedAt" FROM events e, score_cursor c
     WHERE e.contact_id = $1 AND e.type = 'track' AND c.id = 'events'
       AND (e.score_xid IS NULL OR (e.score_xid, e.id) <= (c.xid, c.event_id))`,
    contactId,
  );
  const folded = foldEvents(model.plan, events.map(foldEvent));
  await tx.scoreEntry.deleteMany({ where: { contactId, versionId: model.versionId } });
  await tx.scoreCap.deleteMany({ where: { contactId, versionId: model.versionId } });
  if (folded.entries.length > 0) {
    await tx.scoreEntry.createMany({
      data: folded.entries.map((e) => ({
        contactId,
        versionId: model.versionId,
        eventId: e.eventId,
        ruleId: e.ruleId,
        requested: e.requested,
        points: e.points,
        at: new Date(e.atMs),
      })),
    });
  }
  if (folded.caps.size > 0) {
    await tx.scoreCap.createMany({
      data: [...folded.caps].map(([key, raw]) => {
        const [ruleId = '', bucket = '0'] = key.split('|');
        return { contactId, versionId: model.versionId, ruleId, bucket: BigInt(bucket), raw };
      }),
    });
  }
  await tx.contactScore.update({
    where: { contactId_versionId: { contactId, versionId: model.versionId } },
    data: {
      points: folded.points,
      decayedSum: folded.decayed.sum,
      anchorMs: folded.decayed.anchorMs,
    },
  });
}

export function foldEvent(e: {
  id: string;
  name: string | null;
  properties: Prisma.JsonValue;
  timestamp: Date;
  receivedAt: Date;
}): FoldEvent {
  return {
    id: e.id,
    name: e.name ?? '',
    properties: isRecord(e.properties) ? e.properties : {},
    atMs: e.timestamp.getTime(),
    // A timestamp ahead of its arrival (a fast device clock) is scored as of the arrival.
    receivedMs: e.receivedAt.getTime(),
  };
}
