import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, isPermanentSmtpError } from '../../mail/index.js';

/** The SMTP reply code an error carries, if any. */
const replyCode = (error: unknown): unknown => Reflect.get(Object(error), 'responseCode');

const refusal = (message: string, responseCode: number) =>
  Object.assign(new Error(message), { responseCode });

/**
 * What a real SMTP server's refusals mean to the send activity: a refusal of this email (its
 * recipient, its content) is permanent; one of the relay itself (a login refused after a
 * password change, the sender not allowed, a daily quota) is retried, or every send of the
 * outage would fail for good. Each case is a real exchange between Nodemailer and smtp-server.
 */
describe('SMTP refusals, permanent or not', () => {
  let server: SMTPServer;
  let port = 0;
  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.password === 'rotated') callback(refusal('5.7.8 Authentication failed', 535));
        else callback(null, { user: auth.username });
      },
      onMailFrom(address, _session, callback) {
        if (address.address.startsWith('quota'))
          return callback(refusal('5.4.5 Daily user sending quota exceeded', 550));
        if (address.address.startsWith('stranger'))
          return callback(refusal('5.7.1 Sender not allowed', 550));
        callback();
      },
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('nobody'))
          return callback(refusal('5.1.1 No such user', 550));
        callback();
      },
      onData(stream, _session, callback) {
        let body = '';
        stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
        stream.on('end', () =>
          body.includes('forbidden words')
            ? callback(refusal('5.7.1 Message rejected as spam', 554))
            : callback(),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const refusedWith = async (url: string, from: string, to: string, text = 'Hello') => {
    const mailer = createMailer(url);
    try {
      await mailer.send({
        from,
        to,
        subject: 'Hi',
        html: `<p>${text}</p>`,
        text,
        messageId: '<refusal-test@drumbeat>',
      });
      return null;
    } catch (error) {
      return error;
    } finally {
      mailer.close();
    }
  };

  it('treats a refused recipient or refused content as permanent', async () => {
    const plain = `smtp://127.0.0.1:${port}`;
    const nobody = await refusedWith(plain, 'news@example.com', 'nobody@example.com');
    const spam = await refusedWith(plain, 'news@example.com', 'ada@example.com', 'forbidden words');
    expect([nobody, spam].map(replyCode)).toEqual([550, 554]);
    expect(isPermanentSmtpError(nobody)).toBe(true);
    expect(isPermanentSmtpError(spam)).toBe(true);
  });

  it('retries a refusal of the relay itself: login, sender, daily quota', async () => {
    const login = await refusedWith(
      `smtp://drumbeat:rotated@127.0.0.1:${port}`,
      'news@example.com',
      'ada@example.com',
    );
    const plain = `smtp://127.0.0.1:${port}`;
    const quota = await refusedWith(plain, 'quota@example.com', 'ada@example.com');
    const sender = await refusedWith(plain, 'stranger@example.com', 'ada@example.com');
    // The relay's own 5xx answers, each refused for a reason that is not this email's.
    expect([login, quota, sender].map(replyCode)).toEqual([535, 550, 550]);
    for (const error of [login, quota, sender]) expect(isPermanentSmtpError(error)).toBe(false);
    expect(await refusedWith(plain, 'news@example.com', 'ada@example.com')).toBeNull();
  });
});
