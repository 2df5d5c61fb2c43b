import { EMAIL_ACTIVITY_EVENTS, listFacts, type EmailActivity, type Facts } from '../core/index.js';
import type { DecayedSum } from '../scoring/index.js';
import type { Sql } from '../store/index.js';
import { contactRecords, type ContactRecord } from './contact-record.js';
import { contactView, isRecord } from './contact-view.js';
import { activeScoringPlans, type ActiveScoringPlan } from './scoring-plans.js';
import { scoreValues } from './stage-update.js';

/**
 * A fresh snapshot of a contact for conditions (entry rules, branches, goals): attributes and
 * the tags, lists, scores and lifecycle stage, plus — inside an enrollment — which of its
 * emails were sent, opened and clicked. Null when the contact does not exist (erased, or
 * another workspace's). Its reads go out together: one round trip's wait, not three. `known`:
 * the contact's record when the caller has just read it (null: it has none).
 */
export async function loadContactFacts(
  sql: Sql,
  workspaceId: string,
  contactId: string,
  enrollmentId: string | null,
  known?: ContactRecord | null,
  /**
   * `keep`: empty tags and lists stay in the facts as empty lists, which conditions read as
   * values: for journeys of the types before `journeyWorkflowV6`, which must decide as they did.
   */
  emptyLists: 'leave-out' | 'keep' = 'leave-out',
): Promise<Facts | null> {
  const [[contact], emails, stored] = await Promise.all([
    known === undefined
      ? contactRecords(sql, [contactId], workspaceId)
      : known?.workspaceId === workspaceId
        ? [known]
        : [],
    enrollmentId ? emailActivity(sql, contactId, enrollmentId) : {},
    storedScore(sql, workspaceId, contactId),
  ]);
  if (!contact) return null;
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  const modelScores = stored ? scoreValues(stored.model, contact, stored.sum, Date.now()) : {};
  return {
    contact: contactView(contact),
    ...(emptyLists === 'keep'
      ? { tags: strings(attributes.tags), lists: strings(attributes.lists) }
      : listFacts(strings(attributes.tags), strings(attributes.lists))),
    scores: withAdjustments(modelScores, numbers(attributes.scores)),
    lifecycleStage:
      typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
    emails,
  };
}

/**
 * What the contact did with each email step of the enrollment: `sent` from the step's done
 * send; the rest from the events that report them (`EMAIL_ACTIVITY_EVENTS`), which carry the
 * enrollment and step of the email: tracking events always, a relay's deliveries, bounces and
 * complaints when it gave the email's Message-ID. A click does not count as an open (as in the
 * simulator).
 */
async function emailActivity(
  sql: Sql,
  contactId: string,
  enrollmentId: string,
): Promise<Record<string, EmailActivity[]>> {
  const rows = await sql.query<{ step_id: string; activity: EmailActivity }>(
    `SELECT step_id, 'sent' AS activity FROM side_effects
     WHERE enrollment_id = $1 AND kind = 'sendEmail' AND status = 'done'
     UNION
     SELECT e.properties->>'step', a.activity
     FROM events e JOIN unnest($3::text[], $4::text[]) AS a(name, activity) ON a.name = e.name
     WHERE e.contact_id = $2
       AND e.properties->>'enrollmentId' = $1 AND e.properties->>'step' IS NOT NULL`,
    [
      enrollmentId,
      contactId,
      ACTIVITY_EVENTS.map(([name]) => name),
      ACTIVITY_EVENTS.map(([, activity]) => activity),
    ],
  );
  // UNION drops repeats (several opens of one email, or a step sent in several passes).
  const emails: Record<string, EmailActivity[]> = {};
  for (const { step_id, activity } of rows) (emails[step_id] ??= []).push(activity);
  return emails;
}

/** Event name and activity pairs, passed to the query as two arrays for its `unnest`. */
const ACTIVITY_EVENTS = Object.entries(EMAIL_ACTIVITY_EVENTS);

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The model's scores with the points journeys gave by hand (`adjustScore`, kept in
 * `attributes.scores`) added: a journey's +15 to `lead` counts in `score.lead` whether or not a
 * model computes `lead` too (the model's value replaced it before).
 */
function withAdjustments(
  model: Readonly<Record<string, number>>,
  manual: Readonly<Record<string, number>>,
): Record<string, number> {
  const scores = { ...manual };
  for (const [name, value] of Object.entries(model)) scores[name] = (manual[name] ?? 0) + value;
  return scores;
}

function numbers(value: unknown): Record<string, number> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

/**
 * The workspace's active scoring model (the first, when there are several) and the contact's
 * stored engagement under it, from which `score.engagement`, `score.fit` and `score.lead` are
 * computed, decayed exactly to now; manual points from journey steps (`adjustScore`) sit beside
 * them under their own names. Null without a model.
 */
async function storedScore(
  sql: Sql,
  workspaceId: string,
  contactId: string,
): Promise<{ model: ActiveScoringPlan; sum: DecayedSum | undefined } | null> {
  const [model] = await activeScoringPlans(sql, workspaceId);
  if (!model) return null;
  const [stored] = await sql.query<{ decayed_sum: number; anchor_ms: number }>(
    `SELECT decayed_sum, anchor_ms FROM contact_scores WHERE contact_id = $1 AND version_id = $2`,
    [contactId, model.versionId],
  );
  const sum = stored
    ? { sum: Number(stored.decayed_sum), anchorMs: Number(stored.anchor_ms) }
    : undefined;
  return { model, sum };
}
