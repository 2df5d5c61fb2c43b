import {
  evaluate,
  type EntryDecision,
  type EventFacts,
  type Facts,
  type Plan,
} from '../core/index.js';
import type { EngineDeps } from './deps.js';
import { settleScores } from './scorer.js';
import { dateDue } from './audience.js';
import { matchedAlready } from './condition-matches.js';
import { entryVerdict } from './entry-decision.js';
import { loadContactFacts } from './facts.js';
import { startsOn } from './journeys.js';
import { journeyWithLatest, readVersionPlan, type UnreadableVersion } from './stored-plan.js';

/** Why the journey's triggers would not take the contact in, before its entry rules are asked. */
type TriggerReason =
  | 'not-a-trigger'
  | 'trigger-condition-not-met'
  | 'matched-already'
  | 'date-not-due'
  | 'not-in-audience';

export type EligibilityDecision =
  EntryDecision | { readonly enroll: false; readonly reason: TriggerReason };

export type Eligibility =
  | { readonly found: false; readonly what: 'journey' | 'contact' }
  /** The journey's latest version cannot be read, so its entry rules are unknown. */
  | { readonly found: false; readonly what: 'plan'; readonly unreadable: UnreadableVersion }
  | {
      readonly found: true;
      readonly journeyStatus: string;
      readonly decision: EligibilityDecision;
      readonly explanation: string;
      readonly enrollments: readonly { id: string; entryKey: string; status: string }[];
    };

const SENTENCES: Record<Extract<EligibilityDecision, { enroll: false }>['reason'], string> = {
  'condition-not-met': 'The contact does not meet the journey’s entry condition.',
  'missing-entry-key': 'The trigger has no value for the journey’s entry key.',
  'already-enrolled':
    'The contact is already in this journey, or the re-entry rule allows only one entry.',
  'cooling-down': 'The contact entered recently; the journey’s cool-down has not passed.',
  'max-entries': 'The contact has entered this journey the maximum number of times.',
  'not-a-trigger': 'No trigger of this journey starts on that event.',
  'trigger-condition-not-met': 'The contact does not meet the condition that starts this journey.',
  'matched-already':
    'The contact already met the condition that starts this journey when it was last checked: it enters when it starts to meet it again, after a time of not meeting it.',
  'date-not-due':
    'The contact’s date (with the journey’s offset) is not today in the contact’s time zone, or the contact has no such date: the journey takes contacts in on that day.',
  'not-in-audience': 'The contact is not in the audience of the journey’s schedule.',
};

/**
 * What the journey's triggers say about the contact. With an event named, whether a trigger
 * starts on it, or a condition trigger the contact starts to meet with it. Without one, a journey whose triggers all describe a state or a moment
 * (condition, date, schedule) is asked as its runs would ask it: a condition trigger takes the
 * contact in when it *starts* to match (`condition_matches` remembers a match already seen), a
 * date trigger on the day the date comes round (keyed by that date), a schedule when its
 * audience holds. Any other trigger kind (an event, a webhook, a lifecycle change, by hand) may
 * still start it, so the entry rules alone decide.
 */
async function triggerVerdict(
  deps: EngineDeps,
  plan: Plan,
  versionId: string,
  contact: { readonly id: string; readonly timezone: string | null },
  facts: Facts,
  event: EventFacts | null,
  now: number,
): Promise<{ trigger: EventFacts | null } | { reason: TriggerReason }> {
  if (event && startsOn(plan, event, now)) return { trigger: event };
  // Any event of the contact can start a condition trigger: the condition decides, below.
  if (event && !plan.triggers.some((t) => t.type === 'condition'))
    return { reason: 'not-a-trigger' };
  const stateOnly = plan.triggers.every(
    (t) => t.type === 'condition' || t.type === 'date' || t.type === 'schedule',
  );
  if (!event && (!stateOnly || plan.triggers.length === 0)) return { trigger: null };
  const reasons: TriggerReason[] = [];
  for (const t of plan.triggers) {
    // With an event named, only condition triggers are left to ask.
    if (event && t.type !== 'condition') continue;
    if (t.type === 'condition') {
      if (!evaluate(t.condition, facts, now)) {
        reasons.push('trigger-condition-not-met');
        continue;
      }
      if (!(await matchedAlready(deps, contact.id, versionId))) return { trigger: event };
      reasons.push('matched-already');
    } else if (t.type === 'date') {
      const inAudience = !t.audience || evaluate(t.audience, facts, now);
      const date = inAudience ? dateDue(t, facts, contact.timezone, now) : null;
      if (date) return { trigger: { name: '$date', properties: { date } } };
      reasons.push(inAudience ? 'date-not-due' : 'not-in-audience');
    } else if (t.type === 'schedule') {
      if (!t.audience || evaluate(t.audience, facts, now))
        return { trigger: { name: '$schedule', properties: {} } };
      reasons.push('not-in-audience');
    }
  }
  const order: readonly TriggerReason[] = [
    'matched-already',
    'date-not-due',
    'not-in-audience',
    'trigger-condition-not-met',
  ];
  return { reason: order.find((r) => reasons.includes(r)) ?? 'trigger-condition-not-met' };
}

/**
 * "Why is this contact not in this journey?", answered by what decides real entries: the
 * journey's triggers as routing and the audience runs ask them ({@link triggerVerdict}), then
 * the same `decideEntry`, on the contact's current facts and enrollment history.
 */
export async function explainEligibility(
  deps: EngineDeps,
  workspaceId: string,
  journeyKey: string,
  contactKey: string,
  trigger: EventFacts | null,
): Promise<Eligibility> {
  const { prisma } = deps;
  await settleScores(deps); // score conditions see the events already accepted
  const found = await journeyWithLatest(prisma, {
    workspaceId_key: { workspaceId, key: journeyKey },
  });
  if (!found?.latest) return { found: false, what: 'journey' };
  const { journey, latest } = found;
  const read = readVersionPlan(latest);
  if (!read.ok) return { found: false, what: 'plan', unreadable: read.unreadable };
  const contact = await prisma.contact.findFirst({
    where: { workspaceId, OR: [{ id: contactKey }, { userId: contactKey }] },
  });
  const facts = contact && (await loadContactFacts(deps.sql, workspaceId, contact.id, null));
  if (!contact || !facts) return { found: false, what: 'contact' };
  const now = Date.now();
  const triggered = await triggerVerdict(deps, read.plan, latest.id, contact, facts, trigger, now);
  const verdict = await entryVerdict(deps.sql, {
    workspaceId,
    journeyId: journey.id,
    plan: read.plan,
    contactId: contact.id,
    trigger: 'trigger' in triggered ? triggered.trigger : null,
    facts,
  });
  if (!verdict.found) return { found: false, what: 'contact' };
  const { past } = verdict;
  // The trigger's answer comes first: entry rules are only asked of a contact a trigger takes.
  const decision: EligibilityDecision =
    'reason' in triggered ? { enroll: false, reason: triggered.reason } : verdict.decision;
  const explanation =
    journey.status !== 'active'
      ? `The journey is ${journey.status}: it enrolls no one until it is active again.`
      : decision.enroll
        ? 'The contact would enter this journey now.'
        : SENTENCES[decision.reason];
  return {
    found: true,
    journeyStatus: journey.status,
    decision,
    explanation,
    enrollments: past.map((p) => ({ id: p.id, entryKey: p.entryKey, status: p.status })),
  };
}
