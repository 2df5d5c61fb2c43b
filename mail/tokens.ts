import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, URL-safe tokens for links in emails (unsubscribe, preferences, open pixel, click
 * redirect): base64url(JSON payload) "." base64url(HMAC-SHA256 over purpose and payload,
 * first 16 bytes). The purpose is part of the MAC, so a click token cannot be used as an
 * unsubscribe token. No expiry: an unsubscribe link must keep working for years.
 */
export type TokenPurpose = 'unsubscribe' | 'open' | 'click';

export function signToken(secret: string, purpose: TokenPurpose, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, purpose, body)}`;
}

/** The payload if the token is intact and for this purpose; null otherwise. */
export function verifyToken(secret: string, purpose: TokenPurpose, token: string): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  // The MAC is compared as text: decoding would accept variants of its last character (base64
  // ignores the unused low bits), so one payload would have several valid tokens.
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(mac(secret, purpose, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return parsed;
  } catch {
    return null;
  }
}

function mac(secret: string, purpose: TokenPurpose, body: string): string {
  return createHmac('sha256', secret)
    .update(`${purpose}.${body}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}
