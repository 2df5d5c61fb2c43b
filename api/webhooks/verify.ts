import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../auth/index.js';

export type Verification = 'standard-webhooks' | 'hmac-sha256';

/** Standard Webhooks' default tolerance: older (or future) timestamps are replays or clock errors. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export type VerifyResult = { ok: true; webhookId: string | null } | { ok: false; reason: string };

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function newWebhookSecret(verification: Verification): string {
  return verification === 'standard-webhooks'
    ? `whsec_${randomBytes(24).toString('base64')}`
    : randomBytes(32).toString('hex');
}

export function verifyWebhook(
  source: { verification: Verification; secret: string; signatureHeader: string | null },
  headers: Headers,
  body: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): VerifyResult {
  return source.verification === 'standard-webhooks'
    ? verifyStandard(source.secret, headers, body, nowSeconds)
    : verifyHmac(source.secret, header(headers, source.signatureHeader ?? 'x-signature'), body);
}

/** https://www.standardwebhooks.com: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space separated. */
function verifyStandard(secret: string, headers: Headers, body: Buffer, now: number): VerifyResult {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    return {
      ok: false,
      reason: 'webhook-id, webhook-timestamp and webhook-signature are required',
    };
  const seconds = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - seconds) > TIMESTAMP_TOLERANCE_SECONDS)
    return { ok: false, reason: 'timestamp outside the tolerance' };
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64');
  const matches = signatures
    .split(' ')
    .map((s) => s.split(',', 2))
    .some(
      ([version, signature]) =>
        version === 'v1' && signature !== undefined && safeEqual(signature, expected),
    );
  return matches ? { ok: true, webhookId: id } : { ok: false, reason: 'signature mismatch' };
}

/** A hex HMAC-SHA256 of the body with the secret, optionally prefixed `sha256=` (GitHub's form). */
function verifyHmac(secret: string, given: string | null, body: Buffer): VerifyResult {
  if (!given) return { ok: false, reason: 'signature header missing' };
  const expected = createHmac('sha256', secret).update(body).digest('hex');
  return safeEqual(given.replace(/^sha256=/, '').toLowerCase(), expected)
    ? { ok: true, webhookId: null }
    : { ok: false, reason: 'signature mismatch' };
}

function header(headers: Headers, name: string): string | null {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : null;
}
