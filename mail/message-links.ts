import { signToken, verifyToken } from './tokens.js';
import { isRecord } from '../core/index.js';

/**
 * The signed links an email carries. Paths are fixed here so the API routes and the emails
 * agree: `/u/<token>` (unsubscribe), `/u/<token>/preferences`, `/t/o/<token>` (open pixel),
 * `/t/c/<token>` (click). Short, public (no API key), and outside /v1 because they live in
 * emails for years.
 */
export interface RecipientRef {
  /** workspace id */
  readonly w: string;
  /** contact id */
  readonly c: string;
  /** the address the mail went to */
  readonly e: string;
  /** the email's category */
  readonly k: string;
  /** Message-ID local part (null for links made outside a send, such as previews) */
  readonly m: string | null;
}

export interface ClickRef {
  readonly m: string;
  readonly u: string;
}

export interface LinkSigner {
  unsubscribeUrl(ref: RecipientRef): string;
  preferencesUrl(ref: RecipientRef): string;
  /** Both of the above from one signature (they carry the same token); every send needs both. */
  recipientUrls(ref: RecipientRef): { unsubscribeUrl: string; preferencesUrl: string };
  openUrl(ref: RecipientRef): string;
  clickUrl(messageId: string, url: string): string;
  readRecipient(purpose: 'unsubscribe' | 'open', token: string): RecipientRef | null;
  readClick(token: string): ClickRef | null;
}

export function linkSigner(publicUrl: string, secret: string): LinkSigner {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    unsubscribeUrl: (ref) => `${base}/u/${signToken(secret, 'unsubscribe', ref)}`,
    preferencesUrl: (ref) => `${base}/u/${signToken(secret, 'unsubscribe', ref)}/preferences`,
    recipientUrls(ref) {
      const unsubscribeUrl = `${base}/u/${signToken(secret, 'unsubscribe', ref)}`;
      return { unsubscribeUrl, preferencesUrl: `${unsubscribeUrl}/preferences` };
    },
    openUrl: (ref) => `${base}/t/o/${signToken(secret, 'open', ref)}`,
    clickUrl: (m, u) => `${base}/t/c/${signToken(secret, 'click', { m, u })}`,
    readRecipient: (purpose, token) => recipientOf(verifyToken(secret, purpose, token)),
    readClick(token) {
      const v = verifyToken(secret, 'click', token);
      if (!isRecord(v) || typeof v.m !== 'string' || typeof v.u !== 'string') return null;
      return { m: v.m, u: v.u };
    },
  };
}

function recipientOf(v: unknown): RecipientRef | null {
  if (!isRecord(v)) return null;
  const { w, c, e, k, m } = v;
  if (typeof w !== 'string' || typeof c !== 'string' || typeof e !== 'string') return null;
  if (typeof k !== 'string' || (m !== null && typeof m !== 'string')) return null;
  return { w, c, e, k, m };
}
