import { eventually } from './engine.js';
import type { ApiClient } from './http.js';

/**
 * One message in the engine's SMTP sink, as `GET /v1/mailbox` lists it (api/mailbox.router.ts):
 * the summary only; the body is at `/v1/mailbox/:id`, `/html` and `/raw`.
 */
export interface MailboxMessage {
  readonly id: string;
  readonly messageId: string | null;
  /** Envelope MAIL FROM ('' for a null sender). */
  readonly from: string;
  /** Envelope RCPT TO, Bcc included. */
  readonly to: readonly string[];
  readonly subject: string | null;
  /** ISO 8601, when the sink received it. */
  readonly receivedAt: string;
}

/** The messages delivered to `address`, newest first (the route lists at most 100). */
export async function mailboxOf(api: ApiClient, address: string): Promise<MailboxMessage[]> {
  const res = await api.get(`/v1/mailbox?to=${encodeURIComponent(address)}`);
  // Fail with what the engine said rather than a TypeError inside a polling loop.
  if (res.status !== 200 || !isMailbox(res.body))
    throw new Error(`GET /v1/mailbox answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Waits until at least `count` messages to `address` arrived; returns them, newest first. */
export function waitForMail(
  api: ApiClient,
  address: string,
  count = 1,
  timeoutMs = 20_000,
): Promise<MailboxMessage[]> {
  return eventually(
    async () => {
      const messages = await mailboxOf(api, address);
      return messages.length >= count ? messages : null;
    },
    timeoutMs,
    `${count === 1 ? 'a message' : `${count} messages`} to ${address}`,
  );
}

function isMailbox(body: unknown): body is { data: MailboxMessage[] } {
  return typeof body === 'object' && body !== null && 'data' in body && Array.isArray(body.data);
}
