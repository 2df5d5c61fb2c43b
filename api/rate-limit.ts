import type { RequestHandler } from 'express';
import { authOf } from './auth/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';

export interface RateLimit {
  /** Tokens added per second (sustained requests per second); 0 turns limiting off. */
  readonly perSecond: number;
  /** Bucket size (how many requests may arrive at once). */
  readonly burst: number;
}

/**
 * In-process token buckets, one per API key or webhook source. With several API processes the
 * effective limit is per process; that is enough to stop a runaway client.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limit: RateLimit) {}

  /** Takes a token; returns 0 when allowed, otherwise the seconds until one is available. */
  take(id: string, now = Date.now()): number {
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
  buckets: TokenBuckets,
  onLimited: () => void = () => undefined,
): RequestHandler {
  return (req, res, next) => {
    const auth = authOf(req);
    if (!auth) {
      next();
      return;
    }
    const wait = buckets.take(`key:${auth.keyId}`);
    if (wait > 0) {
      onLimited();
      res.set('Retry-After', String(wait));
      throw tooManyRequests(wait);
    }
    next();
  };
}
