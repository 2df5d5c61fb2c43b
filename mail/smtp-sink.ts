import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { PortInUseError } from '../runtime/ports.js';

/** One message as the sink received it: envelope addresses plus the parsed body. */
export type CapturedMessage = {
  messageId: string | null;
  /** Envelope MAIL FROM ('' for a null sender, as bounces use). */
  from: string;
  /** Envelope RCPT TO, in order: who the mail was delivered to, Bcc included. */
  to: string[];
  subject: string | null;
  text: string | null;
  html: string | null;
  raw: string;
  receivedAt: Date;
};

export type SmtpSinkOptions = {
  /** 0 = any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The message is acknowledged (250) only after this settles; if it throws, the sender gets 451 and retries. */
  onMessage: (mail: CapturedMessage) => Promise<void> | void;
  /** Env var that moves the port, named in PortInUseError. */
  portEnvVar?: string;
  /** Connection-level errors (client resets and the like); ignored when absent. */
  onError?: (error: Error) => void;
};

export type SmtpSink = {
  port: number;
  host: string;
  /** smtp://host:port, usable as SMTP_URL for Nodemailer. */
  url: string;
  stop(): Promise<void>;
};

const maxMessageBytes = 25 * 1024 * 1024;

/** An SMTP error carrying the reply code smtp-server sends back. */
function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * An SMTP server that accepts every message and hands it to `onMessage`. For development and
 * tests: no TLS, and any AUTH is accepted so a mailer configured with credentials still works.
 */
export async function startSmtpSink(opts: SmtpSinkOptions): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: maxMessageBytes,
    logger: false,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    onData: (stream, session, callback) => {
      receive(stream, session, opts.onMessage).then(
        () => callback(),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const hint = { what: 'SMTP sink', envVar: opts.portEnvVar };
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(opts.port, hint) : error);
    });
    server.listen(opts.port, host, () => resolve());
  });
  // After start, errors are per connection (a client hanging up); they must not crash us.
  server.removeAllListeners('error');
  server.on('error', (error: Error) => opts.onError?.(error));

  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    host,
    url: `smtp://${host}:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function receive(
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  onMessage: SmtpSinkOptions['onMessage'],
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  }
  if (stream.sizeExceeded) throw smtpError(552, 'Message exceeds the 25 MB size limit');
  const raw = Buffer.concat(chunks);
  const parsed = await simpleParser(raw);
  const { mailFrom, rcptTo } = session.envelope;
  const mail: CapturedMessage = {
    messageId: parsed.messageId ?? null,
    from: mailFrom ? mailFrom.address : '',
    to: rcptTo.map((rcpt) => rcpt.address),
    subject: parsed.subject ?? null,
    text: parsed.text ?? null,
    html: typeof parsed.html === 'string' ? parsed.html : null,
    raw: raw.toString('utf8'),
    receivedAt: new Date(),
  };
  try {
    await onMessage(mail);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw smtpError(451, `Temporary failure storing the message, try again later: ${reason}`);
  }
}
