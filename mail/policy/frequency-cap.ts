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
  const queue = withQueued(sentAt, limit, now, rank);
  return firstFree(queue.taken, limit, queue.after);
}

/**
 * The counted sends once the `queued` sends ahead of one have gone, each in the first free
 * slot at or after `now` in turn, and the moment the last of them goes (`now` when none):
 * the one behind them goes at the first free slot from then, or from any later moment
 * another rule (quiet hours) moves it to. Every send in `taken` is at or before `after`, as
 * {@link firstFree} needs.
 */
export function withQueued(
  sentAt: readonly number[],
  limit: FrequencyCap,
  now: number,
  queued: number,
): { readonly taken: readonly number[]; readonly after: number } {
  const taken = sentAt.filter((t) => t > now - limit.periodMs).sort((a, b) => a - b);
  let at = now;
  for (let i = 0; i < queued && limit.cap > 0; i++) {
    at = firstFree(taken, limit, at);
    taken.push(at);
  }
  return { taken, after: at };
}

/** The first moment from `from` with a free slot; every send in `taken` is at or before it. */
function firstFree(taken: readonly number[], limit: FrequencyCap, from: number): number {
  // Window (t - period, t]: the send that must drop out is the one `cap` places from the end.
  const inWindow = taken.filter((t) => t > from - limit.periodMs && t <= from);
  if (inWindow.length < limit.cap) return from;
  const leaving = inWindow[inWindow.length - limit.cap];
  return leaving === undefined ? from : leaving + limit.periodMs;
}
