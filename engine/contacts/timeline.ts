import { storableTime } from '../../definitions/index.js';
import type { PrismaClient } from '@prisma/client';
import { isRecord } from '../contact-view.js';
import { CONTACT_CHANGED_EVENT } from './change-event.js';

export type TimelineKind = 'event' | 'score' | 'journeyStep' | 'email' | 'task' | 'attributeChange';

export interface TimelineItem {
  readonly id: string;
  readonly kind: TimelineKind;
  readonly at: Date;
  readonly detail: Record<string, unknown>;
}

/** Where the previous page stopped: the last item's time and id. */
export interface TimelineCursor {
  readonly at: Date;
  readonly id: string;
}

export interface TimelinePage {
  readonly data: TimelineItem[];
  readonly nextCursor: TimelineCursor | null;
}

interface Row {
  id: string;
  kind: string;
  at: Date;
  detail: unknown;
}

const KINDS: ReadonlySet<string> = new Set([
  'event',
  'score',
  'journeyStep',
  'email',
  'task',
  'attributeChange',
]);

/**
 * Everything that happened to a contact, newest first: its events, score entries, journey
 * steps, emails sent, tasks and changes made outside an identify (tags, owner, lists). One
 * UNION ALL ordered by (time desc, id desc) with a keyset cursor on both, so rows written while
 * someone pages never shift or repeat a page. Ids are prefixed by their source because two
 * tables may hold the same id.
 */
export async function contactTimeline(
  prisma: PrismaClient,
  contactId: string,
  limit: number,
  cursor: TimelineCursor | null,
): Promise<TimelinePage> {
  const rows = await prisma.$queryRawUnsafe<Row[]>(
    `SELECT id, kind, at, detail FROM (
       SELECT 'event:' || e.id AS id, 'event' AS kind, e.timestamp AS at,
              jsonb_build_object('type', e.type, 'name', e.name, 'messageId', e.message_id,
                                 'properties', e.properties,
                                 'receivedAt', to_char(e.received_at, $$YYYY-MM-DD"T"HH24:MI:SS.MS"Z"$$)) AS detail
         FROM events e WHERE e.contact_id = $1 AND e.name IS DISTINCT FROM $5
       UNION ALL
       SELECT 'score:' || s.version_id || ':' || s.event_id || ':' || s.rule_id, 'score', s.at,
              jsonb_build_object('model', m.model_id, 'version', m.version, 'rule', s.rule_id,
                                 'points', s.points, 'requested', s.requested, 'eventId', s.event_id)
         FROM score_entries s JOIN scoring_model_versions m ON m.id = s.version_id
        WHERE s.contact_id = $1
       UNION ALL
       SELECT 'step:' || l.enrollment_id || ':' || lpad(l.seq::text, 10, '0'), 'journeyStep', l.at,
              jsonb_build_object('enrollmentId', l.enrollment_id, 'journey', j.key, 'step', l.step_id,
                                 'what', l.kind, 'detail', l.detail)
         FROM enrollment_log l JOIN enrollments n ON n.id = l.enrollment_id
         JOIN journey_versions v ON v.id = n.journey_version_id JOIN journeys j ON j.id = v.journey_id
        WHERE n.contact_id = $1
       UNION ALL
       SELECT 'email:' || f.key, 'email', f.created_at,
              jsonb_build_object('enrollmentId', f.enrollment_id, 'step', f.step_id,
                                 'status', f.status, 'result', f.result)
         FROM side_effects f JOIN enrollments n ON n.id = f.enrollment_id
        WHERE n.contact_id = $1 AND f.kind = 'sendEmail'
       UNION ALL
       SELECT 'task:' || t.id, 'task', t.created_at,
              jsonb_build_object('title', t.title, 'status', t.status, 'priority', t.priority,
                                 'dueAt', to_char(t.due_at, $$YYYY-MM-DD"T"HH24:MI:SS.MS"Z"$$), 'completedAt', to_char(t.completed_at, $$YYYY-MM-DD"T"HH24:MI:SS.MS"Z"$$))
         FROM tasks t WHERE t.contact_id = $1
       UNION ALL
       SELECT 'change:' || c.id, 'attributeChange', c.at,
              jsonb_build_object('attribute', c.attribute, 'from', c.before, 'to', c.after,
                                 'source', c.source)
         FROM attribute_changes c WHERE c.contact_id = $1
     ) items
     WHERE $2::timestamp(3) IS NULL OR (at, id) < ($2::timestamp(3), $3::text)
     ORDER BY at DESC, id DESC
     LIMIT $4`,
    contactId,
    cursor ? cursor.at.toISOString().replace('Z', '') : null,
    cursor?.id ?? '',
    limit + 1,
    // A change's announcement to journeys: the change is on the timeline already, as an
    // attribute change or the journey step that made it.
    CONTACT_CHANGED_EVENT,
  );
  const items = rows.slice(0, limit).map(toItem);
  const last = items[items.length - 1];
  return {
    data: items,
    nextCursor: rows.length > limit && last ? { at: last.at, id: last.id } : null,
  };
}

function toItem(row: Row): TimelineItem {
  if (!KINDS.has(row.kind)) throw new Error(`unexpected timeline kind ${row.kind}`);
  const detail = isRecord(row.detail) ? { ...row.detail } : {};
  return { id: row.id, kind: kindOf(row.kind), at: row.at, detail };
}

function kindOf(kind: string): TimelineKind {
  switch (kind) {
    case 'event':
    case 'score':
    case 'journeyStep':
    case 'email':
    case 'task':
    case 'attributeChange':
      return kind;
    default:
      throw new Error(`unexpected timeline kind ${kind}`);
  }
}

/** The cursor as an opaque string for `?cursor=`. */
export function encodeTimelineCursor(cursor: TimelineCursor): string {
  return Buffer.from(JSON.stringify([cursor.at.toISOString(), cursor.id])).toString('base64url');
}

/** Null when the string is not a cursor this module made. */
export function decodeTimelineCursor(raw: string): TimelineCursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const at: unknown = parsed.at(0);
    const id: unknown = parsed.at(1);
    if (typeof at !== 'string' || typeof id !== 'string') return null;
    // A hand-made cursor could carry what the database refuses (a NUL, year 0): not ours.
    if (id.includes('\u0000') || id.length > 300) return null;
    const date = new Date(at);
    return storableTime(date.getTime()) ? { at: date, id } : null;
  } catch {
    return null;
  }
}
