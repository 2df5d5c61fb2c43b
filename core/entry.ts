import type { EventFacts, Facts } from './facts.js';
import { evaluate, keyOf, readField } from './evaluate.js';
import type { Plan } from './plan.js';

/**
 * Whether a contact may enter a journey now, and under which entry key: the journey's entry
 * rules applied to the contact's earlier enrollments in it. Pure, so the engine and the
 * simulator decide alike; the workflow id built from the key settles races between them.
 */
export interface PastEnrollment {
  readonly entryKey: string;
  readonly startedAt: number;
  /** Null while the enrollment is still running. */
  readonly endedAt: number | null;
}

export type EntryDecision =
  | {
      readonly enroll: true;
      /** Names the enrollment (its workflow id): a repeat of a key is `key#2`, `key#3`, … */
      readonly entryKey: string;
      /** The key's own value, when `entryKey` numbers a repeat of it: what waits correlate on. */
      readonly baseKey?: string;
    }
  | {
      readonly enroll: false;
      readonly reason:
        | 'condition-not-met'
        | 'missing-entry-key'
        | 'already-enrolled'
        | 'cooling-down'
        | 'max-entries';
    };

export interface EntryRequest {
  readonly facts: Facts;
  readonly trigger: EventFacts | null;
  readonly history: readonly PastEnrollment[];
  readonly now: number;
}

export function decideEntry(plan: Plan, request: EntryRequest): EntryDecision {
  const rules = plan.enrollment;
  const { history, now } = request;
  const facts: Facts = {
    ...request.facts,
    trigger: request.trigger?.properties ?? {},
    event: request.trigger?.properties ?? {},
  };
  if (rules.condition && !evaluate(rules.condition, facts, now))
    return { enroll: false, reason: 'condition-not-met' };
  if (rules.maxEntries !== null && history.length >= rules.maxEntries)
    return { enroll: false, reason: 'max-entries' };

  let key: string | null = null;
  if (rules.key) {
    key = keyOf(readField(rules.key, facts));
    if (key === null) return { enroll: false, reason: 'missing-entry-key' };
  }
  // With an entry key the policy applies per key: each order has its own checkout reminder.
  // Its repeats are named `key#2`, `key#3`, …: they are entries of the key too.
  const same = key === null ? history : history.filter((h) => isEntryOf(h.entryKey, key));
  // A repeat of a running key is a duplicate; only `everyTime` without a key runs side by side.
  const running = same.some((h) => h.endedAt === null);
  if (running && (key !== null || rules.reentry !== 'everyTime')) {
    return { enroll: false, reason: 'already-enrolled' };
  }
  switch (rules.reentry) {
    case 'once':
      if (same.length > 0) return { enroll: false, reason: 'already-enrolled' };
      break;
    case 'coolDown': {
      const last = Math.max(...same.map((h) => h.startedAt));
      if (same.length > 0 && now < last + rules.coolDownMs)
        return { enroll: false, reason: 'cooling-down' };
      break;
    }
    case 'afterExit':
    case 'everyTime':
      break;
  }
  const entryKey = key ?? (rules.reentry === 'once' ? 'once' : `entry-${history.length + 1}`);
  if (key !== null && same.length > 0)
    return { enroll: true, entryKey: `${key}#${same.length + 1}`, baseKey: key };
  return { enroll: true, entryKey };
}

/** Whether an enrollment's entry key is `key` or a numbered repeat of it (`key#2`). */
function isEntryOf(entryKey: string, key: string): boolean {
  return (
    entryKey === key ||
    (entryKey.startsWith(`${key}#`) && /^[0-9]+$/.test(entryKey.slice(key.length + 1)))
  );
}

/**
 * The key's own value of a stored entry key, for a journey with an entry key rule (`keyed`):
 * `k1#2` is the second entry of `k1`. Waits correlate on this, not on the numbered name.
 */
export function baseKeyOf(entryKey: string, keyed: boolean): string {
  return keyed ? entryKey.replace(/#[0-9]+$/, '') : entryKey;
}
