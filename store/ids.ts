import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * Time-ordered ids (UUID version 7): rows sort by creation without a second column, which keeps
 * cursor paging stable under concurrent writes. Within one millisecond a 12-bit counter (the
 * version's `rand_a` field) keeps ids made by this process in the order they were made, so the
 * events of one request are routed in the order they came.
 */
export function newId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs += 1; // more than 4,096 ids in a millisecond: borrow the next one
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
