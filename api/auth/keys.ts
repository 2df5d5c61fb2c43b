import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a key may do. `ingest` keys only send events (safe to ship in a browser or a form tool). */
export const SCOPES = ['admin', 'write', 'ingest'] as const;
export type Scope = (typeof SCOPES)[number];

const RANK: Record<Scope, number> = { ingest: 0, write: 1, admin: 2 };

export function scopeAllows(held: Scope, needed: Scope): boolean {
  return RANK[held] >= RANK[needed];
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

export interface NewKey {
  /** The key itself: shown once, never stored. */
  readonly key: string;
  /** What is stored: the hex sha256 of the key. */
  readonly hash: string;
  /** The first characters, kept so a person can recognise the key in a list. */
  readonly prefix: string;
}

/**
 * 32 random bytes (256 bits) make guessing hopeless, so a fast unsalted sha256 is enough to
 * store them: there is no dictionary to attack, unlike with passwords.
 */
export function generateKey(scope: Scope): NewKey {
  const key = `dbk_${scope}_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashKey(key), prefix: key.slice(0, scope.length + 9) };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two secrets in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so not even the length of the secret leaks.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
