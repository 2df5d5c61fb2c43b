import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpSink } from '../../mail/index.js';
import type { CapturedMessage, SmtpSink } from '../../mail/index.js';
import { PortInUseError } from '../../runtime/index.js';

describe('the embedded SMTP sink', () => {
  let sink: SmtpSink | undefined;
  afterEach(async () => {
    await sink?.stop();
    sink = undefined;
  });

  const transportFor = (url: string) =>
    nodemailer.createTransport({ url, auth: { user: 'drumbeat', pass: 'any password' } });

  it('captures the envelope and both bodies of a multipart message', async () => {
    const captured: CapturedMessage[] = [];
    sink = await startSmtpSink({ port: 0, onMessage: (mail) => void captured.push(mail) });
    expect(sink.port).toBeGreaterThan(0);
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);

    const before = new Date();
    const info = await transportFor(sink.url).sendMail({
      from: 'Drumbeat <hello@drumbeat.test>',
      to: 'lin@example.com',
      bcc: 'audit@drumbeat.test',
      subject: 'Welcome, Lin',
      text: 'Hello Lin, thanks for downloading the e-book.',
      html: '<p>Hello <b>Lin</b>, thanks for downloading the e-book.</p>',
      messageId: '<welcome-1@drumbeat.test>',
    });

    expect(info.accepted).toEqual(['lin@example.com', 'audit@drumbeat.test']);
    expect(captured).toHaveLength(1);
    const mail = captured[0];
    expect(mail).toMatchObject({
      messageId: '<welcome-1@drumbeat.test>',
      from: 'hello@drumbeat.test',
      to: ['lin@example.com', 'audit@drumbeat.test'],
      subject: 'Welcome, Lin',
      text: 'Hello Lin, thanks for downloading the e-book.',
      html: '<p>Hello <b>Lin</b>, thanks for downloading the e-book.</p>',
    });
    expect(mail?.raw).toContain('Subject: Welcome, Lin');
    expect(mail?.raw).toContain('multipart/alternative');
    expect(mail?.raw).not.toMatch(/^Bcc:/m);
    expect(mail?.receivedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
  });

  it('answers 451 when the message cannot be stored, so the sender retries', async () => {
    sink = await startSmtpSink({
      port: 0,
      onMessage: () => {
        throw new Error('database is down');
      },
    });

    const send = transportFor(sink.url).sendMail({
      from: 'hello@drumbeat.test',
      to: 'lin@example.com',
      subject: 'Lost?',
      text: 'Not silently.',
    });

    await expect(send).rejects.toMatchObject({ responseCode: 451 });
  });

  it('reports a port that is taken with PortInUseError', async () => {
    sink = await startSmtpSink({ port: 0, onMessage: () => undefined });
    const second = startSmtpSink({
      port: sink.port,
      onMessage: () => undefined,
      portEnvVar: 'SMTP_SINK_PORT',
    });
    await expect(second).rejects.toBeInstanceOf(PortInUseError);
    await expect(second).rejects.toMatchObject({
      code: 'PORT_IN_USE',
      port: sink.port,
      message: `Port ${sink.port} is already in use (SMTP sink). Stop whatever uses it or set SMTP_SINK_PORT.`,
    });
  });
});
