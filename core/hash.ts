/**
 * A stable number in [0, 1) for a string: FNV-1a followed by murmur3's finaliser, which
 * spreads similar inputs (`c1:split`, `c2:split`) evenly. Pure arithmetic, so the workflow
 * sandbox, the simulator and any replay agree on who lands in which split arm.
 */
export function hashUnit(text: string): number {
  return hash32(text) / 0x1_0000_0000;
}

export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
