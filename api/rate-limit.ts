import type { RequestHandler } from 'express';
import type { Sql } from '../store/index.js';
import { authOf } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

export interface RateLimit {
  /** Tokens added per second (sustained requests per second); 0 turns limiting off. */
  readonly perSecond: number;
  /** Bucket size (how many requests may arrive at once). */
  readonly burst: number;
}

/** Takes a token for `id`: 0 when allowed, otherwise the seconds until one is available. */
export interface RateLimiter {
  take(id: string): Promise<number>;
}

/**
 * In-process token buckets, one per API key or webhook source: for the embedded database,
 * where one process serves everything.
 */
export class TokenBuckets implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limit: RateLimit) {}

  take(id: string): Promise<number> {
    return Promise.resolve(this.takeAt(id, Date.now()));
  }

  takeAt(id: string, now: number): number {
    if (this.limit.perSecond <= 0) return 0;
    const bucket = this.buckets.get(id) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond,
    );
    bucket.at = now;
    if (this.buckets.size > 50_000) this.buckets.clear();
    this.buckets.set(id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }
}

/**
 * Token buckets in PostgreSQL, shared by every API process on the database, so the limit of a
 * key holds however many processes serve it. A process takes tokens in leases (up to a tenth of
 * a second's refill at once) and spends them locally for at most a second, so a busy key costs
 * one statement per lease rather than per request; tokens come only from the shared bucket, so
 * leasing never grants more than the limit (a lease unspent after its second is lost). The
 * table is unlogged: buckets are not worth a disk flush, and a crash only refills them.
 */
export class SharedBuckets implements RateLimiter {
  private readonly leases = new Map<string, { tokens: number; until: number }>();
  /** The lease statement in flight for each key: at most one per key in this process. */
  private readonly refills = new Map<string, Promise<number>>();

  constructor(
    private readonly sql: Sql,
    private readonly limit: RateLimit,
  ) {}

  async take(id: string): Promise<number> {
    if (this.limit.perSecond <= 0) return 0;
    for (;;) {
      const lease = this.leases.get(id);
      if (lease && lease.tokens >= 1 && Date.now() < lease.until) {
        lease.tokens -= 1;
        return 0;
      }
      // Requests that find the lease spent wait for one refill together. Were each to lease for
      // itself, the leases would overwrite one another: 16 at once would take 16 leases from
      // the bucket and spend one (a key limited to 1,000 a second was refused at 130 so).
      let refill = this.refills.get(id);
      if (!refill) {
        refill = this.refill(id).finally(() => this.refills.delete(id));
        this.refills.set(id, refill);
      }
      const wait = await refill;
      if (wait > 0) return wait;
    }
  }

  /** Leases tokens for `id`: 0 when it got some, otherwise the seconds until one is available. */
  private async refill(id: string): Promise<number> {
    const now = Date.now();
    const want = Math.max(1, Math.min(this.limit.burst, Math.floor(this.limit.perSecond / 10)));
    const available = `LEAST($2, b.tokens + GREATEST(0, $3 - b.at_ms) / 1000 * $4)`;
    const taken = `CASE WHEN ${available} >= 1 THEN LEAST($5, floor(${available})) ELSE 0 END`;
    const [row] = await this.sql.query<{ taken: number; tokens: number }>(
      `INSERT INTO rate_limit_buckets AS b (key, tokens, at_ms, granted, taken)
       VALUES ($1, $2::float8 - LEAST($5::float8, $2::float8), $3, true, LEAST($5::float8, $2::float8))
       ON CONFLICT (key) DO UPDATE SET
         granted = ${available} >= 1,
         taken = ${taken},
         tokens = ${available} - ${taken},
         at_ms = GREATEST(b.at_ms, $3)
       RETURNING taken, tokens`,
      [id, this.limit.burst, now, this.limit.perSecond, want],
    );
    const got = Number(row?.taken ?? 0);
    if (this.leases.size > 50_000) this.leases.clear();
    if (got >= 1) {
      // A second from when the tokens came: a slow statement must not leave them expired.
      this.leases.set(id, { tokens: got, until: Date.now() + 1000 });
      return 0;
    }
    this.leases.delete(id);
    return Math.max(1, Math.ceil((1 - Number(row?.tokens ?? 0)) / this.limit.perSecond));
  }
}

export function tooManyRequests(retryAfterSeconds: number): HttpProblem {
  return new HttpProblem(
    429,
    `${PROBLEM_BASE}rate-limited`,
    'Too many requests',
    `Slow down: try again in ${retryAfterSeconds} second(s).`,
  );
}

/** Limits authenticated requests per API key; answers 429 with Retry-After. */
export function rateLimitPerKey(
  buckets: RateLimiter,
  onLimited: () => void = () => undefined,
): RequestHandler {
  return async (req, res, next) => {
    const auth = authOf(req);
    if (!auth) {
      next();
      return;
    }
    const wait = await buckets.take(`key:${auth.keyId}`);
    if (wait > 0) {
      onLimited();
      res.set('Retry-After', String(wait));
      throw tooManyRequests(wait);
    }
    next();
  };
}
