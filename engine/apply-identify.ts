import type { Prisma, PrismaClient } from '@prisma/client';
import {
  isDeadlock,
  isUniqueViolation,
  prismaTxSql,
  retryOnDeadlock,
  sqlTime,
  violates,
  type Sql,
} from '../store/index.js';
import { isRecord } from './contact-view.js';
import type { EngineDeps } from './deps.js';
import type { IncomingMessage } from './ingest.js';
import { lockContact } from './contacts/changes.js';
import { tombstoneOf } from './contacts/erase.js';
import { mergeContacts, type Merge } from './merge-contacts.js';
import type { JourneyInterest } from './journeys.js';
import type { ActiveScoringPlan } from './scoring-plans.js';
import { storeStageEvents } from './scorer.js';

/**
 * Why an identify's traits were not (all) applied; the message itself is still stored.
 * `email-taken`: another identified contact holds the email. `contact-erased`: the contact was
 * erased after this message found it; nothing is written back onto it, and the stored event
 * keeps no traits.
 */
export type IdentifyWarning = 'email-taken' | 'contact-erased';

/** What applying an identify did besides writing its contact: a warning, the contacts merged in. */
export interface IdentifyOutcome {
  readonly warning: IdentifyWarning | null;
  /** Contacts merged into the message's and deleted; messages resolved to them follow. */
  readonly merged: readonly Merge[];
  /**
   * The `lifecycle_stage_changed` event stored with the contact's write when the traits moved
   * its stage (to be routed), or none.
   */
  readonly stageEventIds: readonly string[];
}

export interface StageMove {
  readonly from: string | null;
  readonly to: string | null;
}

/** The stage the traits move the contact to from what it had, or null when they do not. */
function stageMove(before: unknown, traits: Readonly<Record<string, unknown>>): StageMove | null {
  if (!Object.hasOwn(traits, 'lifecycleStage')) return null;
  const had = isRecord(before) ? before.lifecycleStage : undefined;
  const from = typeof had === 'string' ? had : null;
  const to = typeof traits.lifecycleStage === 'string' ? traits.lifecycleStage : null;
  return from === to ? null : { from, to };
}

/**
 * Stores the stage move as a `lifecycle_stage_changed` event (as score thresholds tell theirs,
 * so lifecycleChange triggers and goals see it whoever set it: an identify, a contact update, a
 * CSV row) in the transaction that writes the contact. Written later, it was lost when the
 * identify failed in between: its retry found the stage set already and saw no move. Keyed by
 * the identify's message id, so it is stored once; routed where a journey may care.
 * The models' copy of the stage moves with it.
 */
async function storeStageMove(
  tx: Sql,
  workspaceId: string,
  contactId: string,
  message: IncomingMessage,
  move: StageMove | null,
  interest: JourneyInterest | null,
): Promise<string[]> {
  if (!move) return [];
  // The stage the models last saw, which the ingest path compares with to skip contacts no
  // threshold can move (stage-update.ts): it follows the contact's, or thresholds stop acting.
  await tx.query(`UPDATE contact_scores SET stage = $2 WHERE contact_id = $1`, [
    contactId,
    move.to,
  ]);
  return storeStageEvents(
    tx,
    workspaceId,
    [
      {
        contactId,
        messageId: `stage:${message.messageId}`,
        properties: { from: move.from, to: move.to, source: 'identify' },
      },
    ],
    interest,
    Date.now(),
  );
}

/** The SQL path wrote nothing: the message goes through Prisma as a whole (merges). */
const NEEDS_PRISMA = 'needs-prisma';
/** The message was stored before (a retry or a redelivery): it changes nothing. */
const SEEN = 'seen';

/**
 * Applies an identify's traits to its contact: attributes merge (new values win), time zone
 * and locale, and the email, deduplicated case- and whitespace-insensitively. A contact that
 * has the same email or the message's `anonymousId` but no `userId` of its own is the same
 * person seen earlier and is merged in (the merges are returned: the caller's other messages
 * resolved to a merged contact follow it); an email held by another identified contact is left
 * there and reported.
 *
 * This runs for every identify of every batch, so the common case is plain SQL (a Prisma
 * interactive transaction costs about ten times the CPU and times out under load, README).
 * When a merge is due, that transaction writes nothing and the whole message is applied again
 * through Prisma, where `mergeContacts` lives; a contact gone meanwhile goes there too, and
 * fails there as it always has.
 *
 * A message whose `messageId` is stored already (a client's retry, a webhook's redelivery)
 * changes nothing: its traits may be older than what the contact was told since. That is
 * decided in the statement that locks the contact, so it costs no round trip.
 */
export async function applyIdentify(
  { prisma, sql }: Pick<EngineDeps, 'prisma' | 'sql'>,
  active: readonly ActiveScoringPlan[],
  workspaceId: string,
  contactId: string,
  message: IncomingMessage,
  /** What the workspace's journeys trigger on (null: unknown, stage events are routed). */
  interest: JourneyInterest | null = null,
): Promise<IdentifyOutcome> {
  // On the embedded database no statement waits for I/O, so an import's thousands of identifies
  // would hold the event loop (HTTP, timers) for seconds; one turn per message lets it answer.
  await new Promise((resolve) => setImmediate(resolve));
  // Two identifies giving one new email to two contacts at once both find it free, and the
  // second write fails on the unique index. Done again, it finds the first holder and keeps
  // the contact without the email (`email-taken`), as it would have one after the other.
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await sql.transaction((tx) =>
        applyWithoutMerging(tx, workspaceId, contactId, message, interest),
      );
      if (outcome === SEEN) return { warning: null, merged: [], stageEventIds: [] };
      if (outcome !== NEEDS_PRISMA) return { ...outcome, merged: [] };
      return await applyWithMerges(prisma, active, workspaceId, contactId, message, interest);
    } catch (error) {
      // The fast path names the index; Prisma's (merges) reports a unique violation only. A
      // deadlock (the contact, then its scores, where a scoring pass takes them the other way
      // round) is a race lost too.
      const lostRace =
        violates(error, EMAIL_INDEX) || isUniqueViolation(error) || isDeadlock(error);
      if (!lostRace || attempt >= IDENTIFY_ATTEMPTS) throw error;
    }
  }
}

/** The unique index of contacts' emails in a workspace. */
const EMAIL_INDEX = 'contacts_workspace_id_email_key_key';
const IDENTIFY_ATTEMPTS = 3;

interface LockedContact {
  readonly user_id: string | null;
  readonly attributes: unknown;
  readonly anonymous_ids: string[];
  readonly timezone: string | null;
  readonly locale: string | null;
  /** The message is stored already. */
  readonly seen: boolean;
}

async function applyWithoutMerging(
  tx: Sql,
  workspaceId: string,
  contactId: string,
  message: IncomingMessage,
  interest: JourneyInterest | null,
): Promise<
  | { readonly warning: IdentifyWarning | null; readonly stageEventIds: readonly string[] }
  | typeof NEEDS_PRISMA
  | typeof SEEN
> {
  // The same row lock as `lockContact` (an erasure that committed first is seen, one that
  // comes later waits for this write, then clears it), reading the row in the same statement,
  // and whether the message is stored already (the unique index on the message id).
  const [contact] = await tx.query<LockedContact>(
    `SELECT user_id, attributes, anonymous_ids, timezone, locale,
       EXISTS (SELECT 1 FROM events WHERE workspace_id = $2 AND message_id = $3) AS seen
     FROM contacts WHERE id = $1 FOR UPDATE`,
    [contactId, workspaceId, message.messageId],
    { name: 'identify-lock-contact-seen' },
  );
  if (contact?.seen) return SEEN;
  if (!contact) return NEEDS_PRISMA;
  if (contact.user_id === tombstoneOf(contactId))
    return { warning: 'contact-erased', stageEventIds: [] };
  const { email, emailKey } = emailOf(message);

  // Another contact with this email, or an anonymous one with this anonymousId. Only the
  // conditions that apply are written, so neither index is searched for nothing.
  const params: unknown[] = [workspaceId, contactId];
  const conditions: string[] = [];
  if (emailKey) conditions.push(`email_key = $${params.push(emailKey)}`);
  if (message.anonymousId)
    conditions.push(
      `(user_id IS NULL AND anonymous_ids @> ARRAY[$${params.push(message.anonymousId)}::text])`,
    );
  let warning: IdentifyWarning | null = null;
  if (conditions.length > 0) {
    const others = await tx.query<{ user_id: string | null }>(
      `SELECT user_id FROM contacts WHERE workspace_id = $1 AND id <> $2 AND (${conditions.join(' OR ')})`,
      params,
      { name: `identify-other-holders-${emailKey ? 'e' : ''}${message.anonymousId ? 'a' : ''}` },
    );
    // One without a userId (by email, or by anonymousId) is the same person: a merge.
    if (others.some((o) => o.user_id === null)) return NEEDS_PRISMA;
    if (others.length > 0) warning = 'email-taken';
  }

  const { email: _email, ...traits } = message.traits;
  const attributes = { ...(isRecord(contact.attributes) ? contact.attributes : {}), ...traits };
  const setEmail = emailKey !== null && warning === null;
  await tx.query(
    `UPDATE contacts SET attributes = $2::jsonb,
       email = CASE WHEN $3::bool THEN $4 ELSE email END,
       email_key = CASE WHEN $3::bool THEN $5 ELSE email_key END,
       anonymous_ids = $6::text[], timezone = $7, locale = $8, updated_at = $9::timestamp(3)
     WHERE id = $1`,
    [
      contactId,
      JSON.stringify(attributes),
      setEmail,
      email,
      emailKey,
      message.anonymousId && !contact.anonymous_ids.includes(message.anonymousId)
        ? [...contact.anonymous_ids, message.anonymousId]
        : contact.anonymous_ids,
      stringTrait(message.traits, 'timezone') ?? contact.timezone,
      stringTrait(message.traits, 'locale') ?? contact.locale,
      sqlTime(Date.now()),
    ],
    { name: 'identify-update-contact' },
  );
  const move = stageMove(contact.attributes, traits);
  return {
    warning,
    stageEventIds: await storeStageMove(tx, workspaceId, contactId, message, move, interest),
  };
}

/** The general path, on Prisma: merges the contacts found to be the same person. */
async function applyWithMerges(
  prisma: PrismaClient,
  active: readonly ActiveScoringPlan[],
  workspaceId: string,
  contactId: string,
  message: IncomingMessage,
  interest: JourneyInterest | null,
): Promise<IdentifyOutcome> {
  // A merge rescores, and can meet a scoring pass on the same contact in a deadlock.
  return retryOnDeadlock(() =>
    prisma.$transaction(
      async (tx) => {
        // A scoring pass in flight may hold the visitor's events, read before the merge moves
        // them, and would write their points to the deleted visitor: the merge waits for it (a
        // pass holds the cursor row), and the next pass waits for the merge. Taken first, as a
        // pass takes it first.
        await tx.$queryRawUnsafe(`SELECT 1 FROM score_cursor WHERE id = 'events' FOR SHARE`);
        await lockContact(tx, contactId);
        const locked = await tx.contact.findUnique({
          where: { id: contactId },
          select: { userId: true },
        });
        if (locked?.userId === tombstoneOf(contactId))
          return { warning: 'contact-erased', merged: [], stageEventIds: [] };
        const merged: Merge[] = [];
        const merge = async (fromId: string) => {
          const done = await mergeContacts(tx, active, fromId, contactId);
          if (done) merged.push(done);
        };
        let warning: IdentifyWarning | null = null;
        const { email, emailKey } = emailOf(message);
        if (emailKey) {
          const holder = await tx.contact.findFirst({ where: { workspaceId, emailKey } });
          if (holder && holder.id !== contactId) {
            if (holder.userId === null) await merge(holder.id);
            else warning = 'email-taken';
          }
        }
        if (message.anonymousId) {
          const others = await tx.$queryRawUnsafe<{ id: string }[]>(
            `SELECT id FROM contacts WHERE workspace_id = $1 AND anonymous_ids @> ARRAY[$2]::text[] AND id <> $3 AND user_id IS NULL`,
            workspaceId,
            message.anonymousId,
            contactId,
          );
          for (const other of others) await merge(other.id);
        }
        const contact = await tx.contact.findUniqueOrThrow({ where: { id: contactId } });
        const { email: _email, ...traits } = message.traits;
        const attributes = {
          ...(isRecord(contact.attributes) ? contact.attributes : {}),
          ...traits,
        };
        await tx.contact.update({
          where: { id: contactId },
          data: {
            attributes: JSON.parse(JSON.stringify(attributes)) as Prisma.InputJsonObject,
            ...(emailKey && warning === null ? { email, emailKey } : {}),
            anonymousIds:
              message.anonymousId && !contact.anonymousIds.includes(message.anonymousId)
                ? [...contact.anonymousIds, message.anonymousId]
                : contact.anonymousIds,
            timezone: stringTrait(message.traits, 'timezone') ?? contact.timezone,
            locale: stringTrait(message.traits, 'locale') ?? contact.locale,
          },
        });
        const move = stageMove(contact.attributes, traits);
        const stageEventIds = await storeStageMove(
          prismaTxSql(tx),
          workspaceId,
          contactId,
          message,
          move,
          interest,
        );
        return { warning, merged, stageEventIds };
      },
      { maxWait: 30_000, timeout: 30_000 },
    ),
  );
}

/** The email trait, trimmed, and its key (`emailKeyOf`). */
function emailOf(message: IncomingMessage): { email: string; emailKey: string | null } {
  const email = typeof message.traits.email === 'string' ? message.traits.email.trim() : '';
  return { email, emailKey: emailKeyOf(email) };
}

/** What emails are told apart by (`contacts.email_key`): trimmed, lower-cased; null if empty. */
export function emailKeyOf(email: string): string | null {
  const trimmed = email.trim();
  return trimmed === '' ? null : trimmed.toLowerCase();
}

function stringTrait(traits: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = traits[key];
  return typeof value === 'string' && value !== '' ? value : null;
}
