/**
 * The global frequency cap as a sliding window: at most `cap` counted emails in any `periodMs`.
 * Pure, so the activity and tests on a virtual clock share it.
 */
export interface FrequencyCap {
  readonly cap: number;
  readonly periodMs: number;
}

/**
 * The earliest instant at or after `now` when the send queued at position `rank` (0 = next in
 * line) may go, given when counted emails were sent; the sends ahead of it take the slots
 * before it. Never earlier than `now`.
 */
export function nextCapSlot(
  sentAt: readonly number[],
  limit: FrequencyCap,
  now: number,
  rank = 0,
): number {
  if (limit.cap <= 0) return Number.POSITIVE_INFINITY;
  const taken = sentAt.filter((t) => t > now - limit.periodMs).sort((a, b) => a - b);
  let at = now;
  for (let i = 0; i <= rank; i++) {
    at = firstFree(taken, limit, at);
    if (i < rank) taken.push(at);
  }
  return at;
}

function firstFree(taken: readonly number[], limit: FrequencyCap, from: number): number {
  // Window (t - period, t]: the send that must drop out is the one `cap` places from the end.
  const inWindow = taken.filter((t) => t > from - limit.periodMs && t <= from);
  if (inWindow.length < limit.cap) return from;
  const leaving = inWindow[inWindow.length - limit.cap];
  return leaving === undefined ? from : leaving + limit.periodMs;
}
