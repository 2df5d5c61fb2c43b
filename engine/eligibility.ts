import type { EntryDecision } from '../core/index.js';
import type { EngineDeps } from './deps.js';
import { settleScores } from './scorer.js';
import { entryVerdict } from './entry-decision.js';
import { readVersionPlan, type UnreadableVersion } from './stored-plan.js';

export type Eligibility =
  | { readonly found: false; readonly what: 'journey' | 'contact' }
  /** The journey's latest version cannot be read, so its entry rules are unknown. */
  | { readonly found: false; readonly what: 'plan'; readonly unreadable: UnreadableVersion }
  | {
      readonly found: true;
      readonly journeyStatus: string;
      readonly decision: EntryDecision;
      readonly explanation: string;
      readonly enrollments: readonly { id: string; entryKey: string; status: string }[];
    };

const SENTENCES: Record<Extract<EntryDecision, { enroll: false }>['reason'], string> = {
  'condition-not-met': 'The contact does not meet the journey’s entry condition.',
  'missing-entry-key': 'The trigger has no value for the journey’s entry key.',
  'already-enrolled':
    'The contact is already in this journey, or the re-entry rule allows only one entry.',
  'cooling-down': 'The contact entered recently; the journey’s cool-down has not passed.',
  'max-entries': 'The contact has entered this journey the maximum number of times.',
};

/**
 * "Why is this contact not in this journey?", answered by the same `decideEntry` that decides
 * real entries, on the contact's current facts and enrollment history.
 */
export async function explainEligibility(
  deps: EngineDeps,
  workspaceId: string,
  journeyKey: string,
  contactKey: string,
  trigger: { readonly name: string; readonly properties: Readonly<Record<string, unknown>> } | null,
): Promise<Eligibility> {
  const { prisma } = deps;
  await settleScores(deps); // score conditions see the events already accepted
  const journey = await prisma.journey.findUnique({
    where: { workspaceId_key: { workspaceId, key: journeyKey } },
    include: {
      versions: { where: { publishedAt: { not: null } }, orderBy: { version: 'desc' }, take: 1 },
    },
  });
  const latest = journey?.versions[0];
  if (!journey || !latest) return { found: false, what: 'journey' };
  const read = readVersionPlan(latest);
  if (!read.ok) return { found: false, what: 'plan', unreadable: read.unreadable };
  const contact = await prisma.contact.findFirst({
    where: { workspaceId, OR: [{ id: contactKey }, { userId: contactKey }] },
  });
  const verdict =
    contact &&
    (await entryVerdict(deps.sql, {
      workspaceId,
      journeyId: journey.id,
      plan: read.plan,
      contactId: contact.id,
      trigger,
    }));
  if (!verdict?.found) return { found: false, what: 'contact' };
  const { decision, past } = verdict;
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
