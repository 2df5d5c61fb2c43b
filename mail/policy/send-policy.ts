import { nextSendTime, type PlanSettings } from '../../core/index.js';
import { nextCapSlot, withQueued, type FrequencyCap } from './frequency-cap.js';

/**
 * When may a marketing email go out: the workspace's quiet hours and send days in the
 * contact's zone (core's `nextSendTime`, the same rule journeys use) and the frequency cap.
 * Pure; the answer is either "now" or the next allowed moment and the reason for the wait.
 */
export interface SendWindow {
  readonly quietHours: { readonly startMinute: number; readonly endMinute: number } | null;
  readonly sendDays: readonly number[];
}

export type DeferReason = 'quietHours' | 'frequencyCap' | 'priority';

export type SendDecision =
  | { readonly type: 'send' }
  | { readonly type: 'defer'; readonly until: number; readonly reason: DeferReason };

export interface SendQuestion {
  readonly now: number;
  readonly zone: string;
  readonly window: SendWindow;
  /** Null when the email does not count (transactional, or the journey opts out). */
  readonly cap: FrequencyCap | null;
  readonly sentAt: readonly number[];
  /** Sends of higher priority (or queued earlier) waiting for the same contact. */
  readonly ahead: number;
}

export function decideSend(q: SendQuestion): SendDecision {
  let at = q.now;
  let reason: DeferReason | null = null;
  // The sends ahead take their slots once, from the first moment the window is open, and this
  // one goes after them. (Placing them again from each later moment pushed it back a whole
  // period per round whenever the sends ahead filled the cap.)
  const queue = q.cap
    ? withQueued(q.sentAt, q.cap, nextSendTime(q.now, q.zone, windowSettings(q.window)), q.ahead)
    : null;
  // Each rule can push the time into the other's closed period; a few rounds settle it.
  for (let round = 0; round < 16; round++) {
    const open = nextSendTime(at, q.zone, windowSettings(q.window));
    if (open > at) {
      at = open;
      reason ??= 'quietHours';
    }
    if (!q.cap || !queue) break;
    const slot = nextCapSlot(queue.taken, q.cap, Math.max(at, queue.after));
    if (slot === at) break;
    // Free for the first in line, but others of higher priority are: that is the reason.
    const freeForFirst = nextCapSlot(q.sentAt, q.cap, at, 0) === at;
    reason ??= freeForFirst ? 'priority' : 'frequencyCap';
    at = slot;
  }
  return at <= q.now || reason === null ? { type: 'send' } : { type: 'defer', until: at, reason };
}

function windowSettings(window: SendWindow): PlanSettings {
  return {
    quietHours: window.quietHours,
    sendDays: window.sendDays,
    fallbackTimezone: 'UTC',
    countsTowardFrequencyCap: true,
    rateLimit: null,
    priority: 'normal',
  };
}
