/**
 * Caps per rule per period use fixed periods (`bucket = floor(at / period)`), and a bucket keeps
 * the raw points asked for. What the contact gets is the raw total clamped to the cap, so the
 * points a period gives do not depend on the order its events arrive in.
 */
export function capBucket(atMs: number, perMs: number): number {
  return Math.floor(atMs / perMs);
}

/** Points awarded for `raw` requested points under a cap (negative rules are capped below). */
export function clampToCap(raw: number, cap: number): number {
  return raw >= 0 ? Math.min(raw, cap) : Math.max(raw, -cap);
}

/** How many more points a bucket gives when `added` raw points take it to `rawAfter`. */
export function capDelta(rawAfter: number, added: number, cap: number): number {
  return clampToCap(rawAfter, cap) - clampToCap(rawAfter - added, cap);
}

/**
 * Shares a group's awarded points out over its entries in order, each getting at most what it
 * asked for, so the explanation names the events that earned them.
 */
export function shareOut(requested: readonly number[], awarded: number): number[] {
  let left = awarded;
  return requested.map((r) => {
    const give = r >= 0 ? Math.max(0, Math.min(r, left)) : Math.min(0, Math.max(r, left));
    left -= give;
    return give;
  });
}
