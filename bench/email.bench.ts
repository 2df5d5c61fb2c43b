import { pool, scratchDatabase, startEnvelopeSink } from './support.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { sendEmail } from '../activities/send-email.activity.js';
import type { ActivityDeps } from '../activities/index.js';
import { createMailer, loadTemplates, type Mailer, type OutgoingEmail } from '../mail/index.js';
import { newId, openDatabase, type PrismaClient } from '../store/index.js';
import { ratio } from './stats.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 1500);
/**
 * Sends in flight at once, each level measured on both sides. The worker runs up to 100
 * activities at a time (Temporal's default `maxConcurrentActivityTaskExecutions`), so a
 * campaign's sends run near the top level; 8 is a trickle.
 */
const LEVELS = (process.env.BENCH_EMAIL_CONCURRENCY ?? '8,32,100').split(',').map(Number);
const WARMUP = Number(process.env.BENCH_EMAIL_WARMUP ?? 300);
/** Each level's sends in alternating rounds (activity, Nodemailer, activity, ...). */
const ROUNDS = Number(process.env.BENCH_EMAIL_ROUNDS ?? 4);

/**
 * Emails rendered and delivered per second through the send activity (template render, the
 * suppression and frequency-cap checks, the idempotency rows, SMTP) beside Nodemailer alone
 * sending the same pre-rendered message, to the same local SMTP server in the same run, at the
 * same concurrency, at several concurrency levels. Both are warmed with the same number of
 * sends (BENCH_EMAIL_WARMUP) before either is measured, and each level is measured in rounds
 * that alternate between them, so neither gains from going second (a JIT that compiled the
 * mail code both share, a heap the other left). Database: a scratch PostgreSQL database (as in
 * production) when one is reachable, else embedded (BENCH_EMAIL_EMBEDDED=1 forces embedded).
 */
export async function runEmailBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-email-bench-'));
  let received = 0;
  const sink = await startEnvelopeSink(() => received++);
  const smtpUrl = sink.url;
  const scratch = process.env.BENCH_EMAIL_EMBEDDED ? null : await scratchDatabase('drumbeat_email');
  const url = scratch?.url;
  const database = await openDatabase(
    url ? { kind: 'postgres', url } : { kind: 'embedded', dataDir: join(dir, 'db') },
  );
  const mailer = createMailer(smtpUrl);
  try {
    const templates = await loadTemplates('templates');
    // The last message the activity handed to SMTP, so the baseline can send exactly it.
    let lastSent: OutgoingEmail | null = null;
    const recording: Mailer = {
      send: (email) => {
        lastSent = email;
        return mailer.send(email);
      },
      close: () => mailer.close(),
    };
    const deps: ActivityDeps = {
      prisma: database.prisma,
      sql: database.sql,
      mailer: recording,
      templates,
      config: {
        mailFrom: 'Bench <bench@localhost>',
        secretKey: 'bench-secret-key-0123456789abcdefghij',
        publicUrl: 'http://localhost:3000',
      },
    };
    const jobs = await seed(database.prisma, EMAILS * LEVELS.length + WARMUP);
    const warm = jobs.splice(0, WARMUP);
    await pool(warm, LEVELS[0] ?? 8, (job) => sendEmail(deps, job));

    // The same message the activity sent (its html, text, subject, headers and a Message-ID),
    // pre-rendered, through a pooled Nodemailer transport.
    // (A cast: TypeScript cannot see the assignment made inside the recording mailer.)
    const message = lastSent as OutgoingEmail | null;
    if (!message) throw new Error('the warm-up sent nothing');
    const transport = nodemailer.createTransport(`${smtpUrl}?pool=true`);
    const send = (i: number) =>
      transport.sendMail({
        from: message.from,
        to: `raw${i}@example.com`,
        subject: message.subject,
        html: message.html,
        text: message.text,
        messageId: `<raw-${i}@drumbeat>`,
        headers: { ...message.headers },
      });
    let rawSent = 0;
    const sendRaw = () => send(rawSent++);
    await pool(
      Array.from({ length: WARMUP }, (_, i) => i),
      LEVELS[0] ?? 8,
      sendRaw,
    );

    console.log(
      `\nemail: ${EMAILS} emails a concurrency level, ${ROUNDS} alternating rounds, ${WARMUP} warm-up sends each, ${url ? 'PostgreSQL' : 'embedded database'}`,
    );
    console.log(
      `  message: ${message.html.length} chars of html, ${message.text.length} of text, ${Object.keys(message.headers ?? {}).length} extra headers`,
    );
    console.log(
      '  in flight   send activity (render + checks + SMTP)   Nodemailer, same message pre-rendered   ratio',
    );
    const per = Math.ceil(EMAILS / ROUNDS);
    const best = { activity: 0, raw: 0 };
    for (const level of LEVELS) {
      const activity = { seconds: 0, cpu: 0 };
      const baseline = { seconds: 0, cpu: 0 };
      let sent = 0; // per side: the last level's rounds may find fewer jobs left than `per`
      for (let r = 0; r < ROUNDS; r++) {
        const batch = jobs.splice(0, per);
        sent += batch.length;
        const before = received;
        await measure(activity, () => pool(batch, level, (job) => sendEmail(deps, job)));
        if (received - before !== batch.length)
          throw new Error(`expected ${batch.length} deliveries, got ${received - before}`);
        await measure(baseline, () => pool(batch, level, sendRaw));
      }
      const activityRate = sent / activity.seconds;
      const rawRate = sent / baseline.seconds;
      best.activity = Math.max(best.activity, activityRate);
      best.raw = Math.max(best.raw, rawRate);
      // CPU is this process's: the SMTP server's share is in both.
      console.log(
        `  ${String(level).padStart(9)}   ${activityRate.toFixed(0).padStart(5)} emails/s (${(activity.cpu / sent).toFixed(0)} µs CPU each)     ${rawRate.toFixed(0).padStart(5)} emails/s (${(baseline.cpu / sent).toFixed(0)} µs CPU each)   ${ratio(activityRate, rawRate)}`,
      );
    }
    transport.close();
    console.log(
      `  best of each: ${best.activity.toFixed(0)} vs ${best.raw.toFixed(0)} emails/s = ${ratio(best.activity, best.raw)}   (target >= 0.7; the worker runs up to 100 sends at once, 8 is a trickle)`,
    );
  } finally {
    mailer.close();
    await database.close();
    await scratch?.drop();
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Adds the wall time and this process's CPU (µs) of `work` to `into`. */
async function measure(
  into: { seconds: number; cpu: number },
  work: () => Promise<unknown>,
): Promise<void> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  into.seconds += (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  into.cpu += used.user + used.system;
}

interface Job {
  readonly workspaceId: string;
  readonly enrollmentId: string;
  readonly contactId: string;
  readonly stepId: string;
  readonly iteration: number;
  readonly template: string;
  readonly subject: null;
  readonly deferrable: true;
  readonly trigger: { readonly name: string; readonly properties: Record<string, unknown> };
}

/** One contact and enrollment per email, as journeys would have made them. */
async function seed(prisma: PrismaClient, count: number): Promise<Job[]> {
  const workspaceId = `bench-${newId()}`;
  await prisma.workspace.create({ data: { id: workspaceId, name: 'Email bench' } });
  const journeyId = newId();
  const versionId = newId();
  await prisma.journey.create({
    data: { id: journeyId, workspaceId, key: 'bench', name: 'Bench', status: 'draft' },
  });
  await prisma.journeyVersion.create({
    data: {
      id: versionId,
      journeyId,
      version: 1,
      hash: 'bench',
      definition: {},
      plan: { triggers: [], suppression: [], settings: { priority: 'normal' } },
    },
  });
  const contacts = Array.from({ length: count }, (_, i) => ({
    id: newId(),
    workspaceId,
    userId: `bench-${i}`,
    email: `bench${i}@example.com`,
    emailKey: `bench${i}@example.com`,
    attributes: { firstName: 'Bench' },
  }));
  await prisma.contact.createMany({ data: contacts });
  const enrollments = contacts.map((c) => ({
    id: `bench/${c.id}`,
    workspaceId,
    journeyVersionId: versionId,
    contactId: c.id,
    entryKey: 'once',
    status: 'active',
  }));
  await prisma.enrollment.createMany({ data: enrollments });
  return enrollments.map((e) => ({
    workspaceId,
    enrollmentId: e.id,
    contactId: e.contactId,
    stepId: 'welcome',
    iteration: 1,
    template: 'welcome',
    subject: null,
    deferrable: true,
    trigger: { name: 'signed_up', properties: { plan: 'Pro' } },
  }));
}
