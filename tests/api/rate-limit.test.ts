import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SharedBuckets } from '../../api/rate-limit.js';
import { startTestEngine } from '../support/engine.js';

const BURST = 20;
const PER_SECOND = 1;

/**
 * With PostgreSQL, every API process takes its tokens from the same buckets in the database:
 * a key's limit holds however many processes serve it (two engines on one database here).
 */
describe('rate limits shared by API processes (PostgreSQL)', () => {
  const env = { RATE_LIMIT_PER_SECOND: String(PER_SECOND), RATE_LIMIT_BURST: String(BURST) };
  let first: Awaited<ReturnType<typeof startTestEngine>> | undefined;
  let second: Awaited<ReturnType<typeof startTestEngine>> | undefined;

  beforeAll(async () => {
    if (!inject('postgresUrl')) return;
    first = await startTestEngine('postgres', env);
    second = await startTestEngine('postgres', env);
  });
  afterAll(async () => {
    await second?.cleanup();
    await first?.cleanup();
  });

  it('grants one key no more than its burst plus what refilled, across both processes', async (ctx) => {
    if (!first || !second) return ctx.skip();
    // The same key on both processes (the first one's development key).
    const headers = first.apiHeaders;
    const get = async (apiUrl: string | null) =>
      (await fetch(`${apiUrl ?? ''}/v1/journeys`, { headers })).status;
    const started = performance.now();
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) statuses.push(await get(first.apiUrl));
    for (let i = 0; i < BURST; i++) statuses.push(await get(second.apiUrl));
    const seconds = (performance.now() - started) / 1000;

    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const granted = statuses.filter((s) => s === 200).length;
    // Per-process buckets would grant 2 x BURST; shared ones at most BURST + the refill.
    expect(granted).toBeLessThanOrEqual(BURST + Math.ceil(seconds * PER_SECOND) + 1);
    expect(granted).toBeGreaterThanOrEqual(BURST);
    const limited = await fetch(`${second.apiUrl ?? ''}/v1/journeys`, { headers });
    if (limited.status === 429) {
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('leases tokens to each process without granting more than the shared bucket holds', async (ctx) => {
    if (!first || !second) return ctx.skip();
    // 100 a second with a burst of 20: each process leases 10 tokens at a time.
    const limit = { perSecond: 100, burst: 20 };
    const processes = [
      new SharedBuckets(first.deps.sql, limit),
      new SharedBuckets(second.deps.sql, limit),
    ];
    const key = `lease-test-${Date.now()}`;
    const bucket = async () =>
      (
        await first?.deps.sql.query<{ taken: number; tokens: number }>(
          'SELECT taken, tokens FROM rate_limit_buckets WHERE key = $1',
          [key],
        )
      )?.[0];
    // The first request leases 10 tokens from the shared bucket in one statement.
    const started = performance.now();
    expect(await processes[0]?.take(key)).toBe(0);
    expect(await bucket()).toEqual({ taken: 10, tokens: 10 });
    let granted = 1;
    for (let i = 1; i < 60; i++) if ((await processes[i % 2]?.take(key)) === 0) granted++;
    const seconds = (performance.now() - started) / 1000;
    // Leases come out of the shared bucket: no more than burst plus refill, however split.
    expect(granted).toBeLessThanOrEqual(limit.burst + Math.ceil(seconds * limit.perSecond) + 1);
    expect(granted).toBeGreaterThanOrEqual(limit.burst);
  });

  it('serves requests that arrive together from one lease at a time', async (ctx) => {
    if (!first) return ctx.skip();
    // Leases of 10 from a bucket of 100: 60 requests at once fit in it.
    const limit = { perSecond: 100, burst: 100 };
    const buckets = new SharedBuckets(first.deps.sql, limit);
    const key = `together-test-${Date.now()}`;
    const waits = await Promise.all(Array.from({ length: 60 }, () => buckets.take(key)));
    expect(waits.filter((w) => w !== 0)).toEqual([]);
    const [row] = await first.deps.sql.query<{ tokens: number }>(
      'SELECT tokens FROM rate_limit_buckets WHERE key = $1',
      [key],
    );
    // Six leases of 10 left the bucket at 40 or more (what refilled meanwhile on top).
    expect(Number(row?.tokens)).toBeGreaterThanOrEqual(40);
  });
});
