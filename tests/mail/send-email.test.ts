import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmail, type SendEmailInput } from '../../activities/send-email.activity.js';
import { readSend } from '../../activities/send-email.store.js';
import { loadTemplates, suppress, type Mailer } from '../../mail/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { activityDeps, createMailer, seed, startCapture, type Capture } from './support.js';
import { newId } from '../../store/index.js';

/**
 * The send activity against a real SMTP server in the test process: headers mailbox providers
 * require, both MIME parts, exactly once per key, suppression, quiet hours and the frequency
 * cap (deferred, never dropped), permanent vs transient SMTP errors.
 */
describe.each(databaseVariants())('send email activity (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let capture: Capture;
  let mailer: Mailer;
  let deps: ReturnType<typeof activityDeps>;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    capture = await startCapture();
    mailer = createMailer(capture.url);
    deps = activityDeps(engine, mailer);
  });
  afterAll(async () => {
    mailer?.close();
    await capture?.stop();
    await engine?.cleanup();
  });

  const input = (
    s: { workspaceId: string; contactId: string },
    enrollmentId: string,
    extra: Partial<SendEmailInput> = {},
  ): SendEmailInput => ({
    workspaceId: s.workspaceId,
    enrollmentId,
    contactId: s.contactId,
    stepId: 'welcome',
    iteration: 1,
    template: 'welcome',
    subject: null,
    deferrable: true,
    trigger: { name: 'signed_up', properties: { plan: 'Pro' } },
    ...extra,
  });

  it('sends once with List-Unsubscribe one-click headers, a stable Message-ID, HTML and text parts', async () => {
    const email = `ada.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email });
    const enrollment = await s.enrollment();
    const first = await sendEmail(deps, input(s, enrollment));
    const again = await sendEmail(deps, input(s, enrollment));
    expect(first).toMatchObject({ status: 'sent', to: email, alreadySent: false });
    expect(again).toMatchObject({ status: 'sent', alreadySent: true });
    const [mail, ...more] = await capture.waitFor(email);
    expect(more).toHaveLength(0);
    const parsed = mail?.parsed;
    expect(parsed?.subject).toBe('Welcome to Drumbeat, Ada!');
    expect(parsed?.messageId).toBe(first.status === 'sent' ? first.messageId : '');
    const raw = (mail?.raw ?? '').replace(/\r\n[ \t]+/g, ' ');
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const listUnsubscribe = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(raw)?.[1] ?? '';
    expect(listUnsubscribe).toMatch(/\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(parsed?.html).toContain('Welcome, Ada!');
    expect(parsed?.html).toContain('for the Pro plan');
    expect(parsed?.text).toContain('Welcome, Ada!');
    // The marketing footer carries the same signed link in both parts.
    expect(parsed?.text).toContain(listUnsubscribe);
    expect(parsed?.html).toContain(listUnsubscribe);
  });

  it('carries the unsubscribe link and postal address of a layout footer into the text part', async () => {
    // A layout of the kind senders write for CAN-SPAM: its own unsubscribe link and address.
    const dir = await mkdtemp(join(tmpdir(), 'drumbeat-footer-'));
    await mkdir(join(dir, 'layouts'));
    await writeFile(
      join(dir, 'layouts', 'branded.hbs'),
      `<html><body><span style="display:none">{{preheader}}</span>{{body}}
<p class="footer"><a href="{{unsubscribeUrl}}">Unsubscribe</a> or <a href="{{preferencesUrl}}">manage emails</a><br>Drumbeat Ltd, 5 Harbour Street, Leith EH6 6LA</p>
</body></html>`,
    );
    await writeFile(
      join(dir, 'news.hbs'),
      `---
subject: News for {{contact.firstName}}
preheader: Hidden preview text
layout: branded
---
<p>Hello {{contact.firstName}}, here is the news.</p>`,
    );
    const branded = { ...deps, templates: await loadTemplates(dir) };
    const email = `footer.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email });
    const sent = await sendEmail(branded, input(s, await s.enrollment(), { template: 'news' }));
    expect(sent).toMatchObject({ status: 'sent' });
    const [mail] = await capture.waitFor(email);
    const raw = (mail?.raw ?? '').replace(/\r\n[ \t]+/g, ' ');
    const listUnsubscribe = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(raw)?.[1] ?? '';
    expect(listUnsubscribe).toMatch(/\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const html = mail?.parsed.html || '';
    const text = mail?.parsed.text ?? '';
    // The layout shows the link, so no footer is added to the HTML ...
    expect(html.split(listUnsubscribe).length - 1).toBe(2);
    // ... and the text part has what the HTML footer has, the hidden preheader left out.
    expect(text).toContain('Hello Ada, here is the news.');
    expect(text).toContain(`Unsubscribe (${listUnsubscribe})`);
    expect(text).toContain(`manage emails (${listUnsubscribe}/preferences)`);
    expect(text).toContain('Drumbeat Ltd, 5 Harbour Street, Leith EH6 6LA');
    expect(text).not.toContain('Hidden preview text');
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the contact on the hot path as the Contact model does', async () => {
    const s = await seed(engine.deps.prisma, {
      email: `row.${uniqueSuffix()}@example.com`,
      timezone: 'Asia/Tokyo',
      locale: 'ja',
    });
    const viaModel = await engine.deps.prisma.contact.findFirst({
      where: { id: s.contactId },
      select: {
        id: true,
        workspaceId: true,
        userId: true,
        email: true,
        attributes: true,
        timezone: true,
        locale: true,
      },
    });
    expect(viaModel?.timezone).toBe('Asia/Tokyo');
    const enrollmentId = await s.enrollment();
    const read = {
      key: `${enrollmentId}:read:0`,
      enrollmentId,
      workspaceId: s.workspaceId,
      contactId: s.contactId,
      category: 'marketing',
      template: 'welcome',
    };
    const first = await readSend(engine.deps.sql, read);
    expect(first).toEqual({
      previous: null,
      contact: viaModel,
      suppressed: null,
      journeyVersionId: s.versionId,
      storedTemplate: null,
    });
    // Another workspace's id reads no contact.
    const elsewhere = await readSend(engine.deps.sql, { ...read, workspaceId: 'nope' });
    expect(elsewhere.contact).toBeNull();
  });

  it('sends side by side, sharing statements, each once with its own record, a repeat among them included', async () => {
    const sends = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const email = `batch${i}.${uniqueSuffix()}@example.com`;
        const s = await seed(engine.deps.prisma, { email });
        return { email, job: input(s, await s.enrollment()) };
      }),
    );
    const first = sends[0];
    if (!first) throw new Error('no sends seeded');
    // The first send twice at once: both read and settle in the same statements.
    const results = await Promise.all([
      ...sends.map(({ job }) => sendEmail(deps, job)),
      sendEmail(deps, first.job),
    ]);
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    const effects = await engine.deps.prisma.sideEffect.findMany({
      where: { enrollmentId: { in: sends.map(({ job }) => job.enrollmentId) } },
    });
    expect(effects).toHaveLength(12);
    expect(effects.every((e) => e.status === 'done')).toBe(true);
    const messages = await engine.deps.prisma.emailMessage.findMany({
      where: { enrollmentId: { in: sends.map(({ job }) => job.enrollmentId) } },
    });
    expect(messages).toHaveLength(12);
    for (const { email } of sends.slice(1)) expect(await capture.waitFor(email)).toHaveLength(1);
    // The repeat joins the attempt in flight (as a retry started while a slow send still runs
    // does): the email reaches SMTP once.
    expect(results.at(-1)).toEqual(results[0]);
    expect(await capture.waitFor(first.email)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(capture.to(first.email)).toHaveLength(1);
  });

  it('never sends marketing email to a suppressed address, but still sends transactional email', async () => {
    const email = `bounced.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email });
    await suppress(engine.deps.prisma, {
      workspaceId: s.workspaceId,
      email,
      reason: 'bounced',
      scope: '*',
      source: 'api',
    });
    const skipped = await sendEmail(deps, input(s, await s.enrollment()));
    expect(skipped).toEqual({ status: 'suppressed', to: email, reason: 'bounced' });
    const receipt = await sendEmail(
      deps,
      input(s, await s.enrollment(), { category: 'transactional' }),
    );
    expect(receipt).toMatchObject({ status: 'sent' });
    const arrived = await capture.waitFor(email);
    expect(arrived).toHaveLength(1);
    expect(arrived[0]?.raw).not.toMatch(/^List-Unsubscribe/m);
  });

  it('defers a send in quiet hours to the moment they end, and records why', async () => {
    const email = `night.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email, timezone: 'UTC' });
    // Quiet for the whole day except the minute that just started 1380 minutes from now-ish:
    const nowMinute = new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
    const endMinute = (nowMinute + 120) % 1440;
    await engine.deps.prisma.messagingPolicy.upsert({
      where: { workspaceId: s.workspaceId },
      create: {
        workspaceId: s.workspaceId,
        quietStartMinute: nowMinute,
        quietEndMinute: endMinute,
      },
      update: { quietStartMinute: nowMinute, quietEndMinute: endMinute },
    });
    try {
      const enrollment = await s.enrollment();
      const result = await sendEmail(deps, input(s, enrollment));
      expect(result.status).toBe('deferred');
      if (result.status !== 'deferred') return;
      expect(result.reason).toBe('quietHours');
      const expected = new Date();
      expected.setUTCHours(Math.floor(endMinute / 60), endMinute % 60, 0, 0);
      if (expected.getTime() < Date.now()) expected.setUTCDate(expected.getUTCDate() + 1);
      expect(result.until).toBe(expected.getTime());
      const history = await engine.deps.prisma.sendDeferral.findMany({
        where: { enrollmentId: enrollment },
      });
      expect(history).toMatchObject([
        { reason: 'quietHours', stepId: 'welcome', resolvedAt: null },
      ]);
      expect(capture.to(email)).toHaveLength(0);

      // The workspace drops its quiet hours: the held send goes out with no rule to pass (fresh
      // dependencies, so no cached policy), and its deferral ends with it.
      await engine.deps.prisma.messagingPolicy.deleteMany({
        where: { workspaceId: s.workspaceId },
      });
      const later = await sendEmail(activityDeps(engine, mailer), input(s, enrollment));
      expect(later).toMatchObject({ status: 'sent', alreadySent: false });
      const ended = await engine.deps.prisma.sendDeferral.findMany({
        where: { enrollmentId: enrollment },
      });
      expect(ended).toHaveLength(1);
      expect(ended[0]?.resolvedAt).toBeInstanceOf(Date);
    } finally {
      await engine.deps.prisma.messagingPolicy.deleteMany({
        where: { workspaceId: s.workspaceId },
      });
    }
  });

  /** The workspace's messaging policy: at most `cap` marketing emails a contact a week. */
  const capPerWeek = (workspaceId: string, cap: number) =>
    engine.deps.prisma.messagingPolicy.upsert({
      where: { workspaceId },
      create: { workspaceId, frequencyCap: cap, frequencyPeriodSec: 7 * 86_400 },
      update: { frequencyCap: cap, frequencyPeriodSec: 7 * 86_400 },
    });

  it('holds a send over the frequency cap until the next free slot, across journeys', async () => {
    const email = `capped.${uniqueSuffix()}@example.com`;
    const a = await seed(engine.deps.prisma, { email });
    await capPerWeek(a.workspaceId, 1);
    try {
      const first = await sendEmail(deps, input(a, await a.enrollment()));
      expect(first.status).toBe('sent');
      const sentAt = (
        await engine.deps.prisma.emailMessage.findFirstOrThrow({
          where: { contactId: a.contactId },
        })
      ).sentAt;
      const second = await sendEmail(deps, input(a, await a.enrollment(), { stepId: 'other' }));
      expect(second).toEqual({
        status: 'deferred',
        reason: 'frequencyCap',
        until: sentAt.getTime() + 7 * 86_400_000,
      });
      // Transactional mail does not count and is not held.
      const receipt = await sendEmail(
        deps,
        input(a, await a.enrollment(), { category: 'transactional' }),
      );
      expect(receipt.status).toBe('sent');
      expect(await capture.waitFor(email, 2)).toHaveLength(2);
    } finally {
      await engine.deps.prisma.messagingPolicy.delete({ where: { workspaceId: a.workspaceId } });
    }
  });

  it('counts as ahead only held sends that will take a cap slot: not an ended enrollment’s, a failed one’s or one that does not count', async () => {
    const email = `queue.${uniqueSuffix()}@example.com`;
    const a = await seed(engine.deps.prisma, { email });
    await capPerWeek(a.workspaceId, 1);
    /** A send of another enrollment, held until a minute ago and not back yet, of high priority. */
    const heldBefore = async (enrollmentId: string, countsToCap = true) =>
      engine.deps.prisma.sendDeferral.create({
        data: {
          id: newId(),
          key: `${enrollmentId}:welcome:1`,
          workspaceId: a.workspaceId,
          contactId: a.contactId,
          enrollmentId,
          stepId: 'welcome',
          priority: 100,
          reason: 'quietHours',
          countsToCap,
          until: new Date(Date.now() - 60_000),
          createdAt: new Date(Date.now() - 3_600_000),
        },
      });
    try {
      // A live one is ahead: this send waits for it (the queue works).
      const live = await heldBefore(await a.enrollment());
      const waits = await sendEmail(deps, input(a, await a.enrollment(), { stepId: 'first' }));
      expect(waits).toMatchObject({ status: 'deferred', reason: 'priority' });
      await engine.deps.prisma.sendDeferral.update({
        where: { id: live.id },
        data: { resolvedAt: new Date() },
      });

      // One whose enrollment ended, one whose send failed, one that will not count: none is.
      const ended = await a.enrollment();
      await engine.deps.prisma.enrollment.update({
        where: { id: ended },
        data: { status: 'converted', endedAt: new Date() },
      });
      await heldBefore(ended);
      const failed = await a.enrollment();
      await heldBefore(failed);
      await engine.deps.prisma.sideEffect.create({
        data: {
          key: `${failed}:welcome:1`,
          enrollmentId: failed,
          stepId: 'welcome',
          kind: 'sendEmail',
          status: 'failed',
          result: {},
        },
      });
      await heldBefore(await a.enrollment(), false);
      const goes = await sendEmail(deps, input(a, await a.enrollment(), { stepId: 'second' }));
      expect(goes).toMatchObject({ status: 'sent' });
    } finally {
      await engine.deps.prisma.messagingPolicy.delete({ where: { workspaceId: a.workspaceId } });
    }
  });

  it('holds a retry of a reserved send in quiet hours that began after its first attempt', async () => {
    const email = `busy.late.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email, timezone: 'UTC' });
    // A cap makes the gate reserve the send before SMTP; the relay answers 451 to `busy.*`.
    await capPerWeek(s.workspaceId, 3);
    try {
      const enrollment = await s.enrollment();
      await expect(sendEmail(deps, input(s, enrollment))).rejects.toThrow();
      // Quiet hours begin (from a minute ago for two hours) before Temporal's retry.
      const nowMinute = new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
      await engine.deps.prisma.messagingPolicy.update({
        where: { workspaceId: s.workspaceId },
        data: {
          quietStartMinute: (nowMinute + 1439) % 1440,
          quietEndMinute: (nowMinute + 120) % 1440,
        },
      });
      // Fresh dependencies: no policy cached from the first attempt.
      const retry = await sendEmail(activityDeps(engine, mailer), input(s, enrollment));
      expect(retry).toMatchObject({ status: 'deferred', reason: 'quietHours' });
      expect(capture.to(email)).toHaveLength(0);
    } finally {
      await engine.deps.prisma.messagingPolicy.delete({ where: { workspaceId: s.workspaceId } });
    }
  });

  it('records a permanent SMTP refusal as failed and does not retry it; a transient one is retried', async () => {
    const rejected = `reject.${uniqueSuffix()}@example.com`;
    const s = await seed(engine.deps.prisma, { email: rejected });
    const enrollment = await s.enrollment();
    await expect(sendEmail(deps, input(s, enrollment))).rejects.toMatchObject({
      type: 'SMTP_PERMANENT',
      nonRetryable: true,
    });
    const effect = await engine.deps.prisma.sideEffect.findUniqueOrThrow({
      where: { key: `${enrollment}:welcome:1` },
    });
    expect(effect.status).toBe('failed');

    const busy = `busy.${uniqueSuffix()}@example.com`;
    const b = await seed(engine.deps.prisma, { email: busy });
    const error: unknown = await sendEmail(deps, input(b, await b.enrollment())).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('nonRetryable', true);
  });

  it("defers a send that comes back inside the journey's own quiet hours (after a pause or a cap)", async () => {
    const api = apiClient(engine);
    const s = uniqueSuffix();
    // Quiet hours from an hour ago to an hour from now (UTC, the contact has no time zone).
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const now = Date.now();
    const key = `quiet-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Quiet',
      triggers: [{ type: 'event', event: `joined_${s}` }],
      settings: { quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000) } },
      steps: [{ id: 'hi', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `quiet-${s}`;
    const email = `${userId}@example.com`;
    await api.post('/v1/identify', { userId, traits: { email } });
    const tracked = await api.post('/v1/track', { userId, event: `joined_${s}` });
    const { contactId } = tracked.body as { contactId: string };
    // The enrollment waits for the window at its step, as the journey's entry into it decides.
    const enrollmentId = await eventually(
      async () => {
        const res = await api.get(`/v1/journeys/${key}/enrollments?step=hi`);
        return (res.body as { data: { id: string }[] }).data[0]?.id;
      },
      20_000,
      'the enrollment at its send step',
    );
    // The send attempted now, as after a pause or a workspace deferral that ended in the window.
    const result = await sendEmail(deps, {
      ...input({ workspaceId: 'default', contactId }, enrollmentId),
      stepId: 'hi',
    });
    expect(result).toMatchObject({ status: 'deferred', reason: 'sendWindow' });
    const until = (result as { until: number }).until;
    // Quiet hours end on a whole minute, about an hour from now.
    expect(until).toBeGreaterThan(now + 3_500_000);
    expect(until).toBeLessThanOrEqual(now + 3_600_000);
    expect(capture.to(email)).toEqual([]);
  });
});
