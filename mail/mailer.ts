import nodemailer from 'nodemailer';
import type { DkimKey } from '../config/index.js';

export interface OutgoingEmail {
  readonly from: string;
  readonly to: string;
  readonly replyTo?: string | null;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** Stable per (enrollment, step, iteration): a resend after a crash carries the same id. */
  readonly messageId: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The Message-ID of the email whose stable local part is `local` (see the send activity). */
export function messageIdOf(local: string): string {
  return `<${local}@drumbeat>`;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ accepted: string[]; response: string }>;
  close(): void;
}

export interface MailerOptions {
  /** When set, every message is signed (DKIM-Signature, rsa-sha256, relaxed/relaxed). */
  readonly dkim?: DkimKey | null;
}

/**
 * The headers the DKIM signature covers: Nodemailer's default list (RFC 6376 5.4.1) plus
 * List-Unsubscribe-Post, which RFC 8058 section 4 requires to be signed with List-Unsubscribe,
 * or mailbox providers ignore the one-click header.
 */
const DKIM_SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:' +
  'Content-Transfer-Encoding:Content-ID:Content-Description:Resent-Date:Resent-From:' +
  'Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:List-Id:' +
  'List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:List-Owner:' +
  'List-Archive:OTP-Token';

/** Nodemailer over SMTP with a connection pool. */
export function createMailer(smtpUrl: string, options: MailerOptions = {}): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    ...(options.dkim ? { dkim: { ...options.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  });
  return {
    async send(email) {
      const info = await transport.sendMail({
        from: email.from,
        to: email.to,
        ...(email.replyTo ? { replyTo: email.replyTo } : {}),
        subject: email.subject,
        html: email.html,
        text: email.text,
        messageId: email.messageId,
        headers: { ...email.headers },
      });
      return { accepted: info.accepted.map(String), response: info.response };
    },
    close: () => transport.close(),
  };
}

/**
 * A 5xx reply about this email (its recipient refused, its content rejected) is the relay
 * saying "never"; anything else may work on a later attempt: a 4xx, a dropped connection, a
 * timeout, and a 5xx about the relay itself (the login refused after a password change, the
 * sender not allowed, a 5.4.x daily quota), which would otherwise fail every send of the
 * outage for good.
 */
export function isPermanentSmtpError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'responseCode');
  if (typeof code !== 'number' || code < 500 || code >= 600) return false;
  const command = String(Reflect.get(error, 'command') ?? '').toUpperCase();
  if (command !== 'RCPT TO' && command !== 'DATA') return false;
  // Enhanced status 5.4.x: routing, quota or network trouble, not this email's fault.
  return !/\b5\.4\.\d{1,3}\b/.test(String(Reflect.get(error, 'response') ?? ''));
}
