import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** Random bytes drawn 4 KiB at a time: one system call per 512 ids instead of one per id. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function random8(): Buffer {
  if (poolAt + 8 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 8;
  return pool.subarray(poolAt - 8, poolAt);
}

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
  // 48 bits of time, version and 12-bit counter, then variant and 62 random bits.
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  random8().copy(bytes, 8);
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
