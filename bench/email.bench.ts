import { pool, scratchDatabase } from './support.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { sendEmail } from '../activities/send-email.activity.js';
import type { ActivityDeps } from '../activities/index.js';
import { createMailer, loadTemplates, type Mailer, type OutgoingEmail } from '../mail/index.js';
import { newId, openDatabase, type PrismaClient } from '../store/index.js';
import { ratio } from './stats.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_EMAIL_CONCURRENCY ?? 8);
const WARMUP = Number(process.env.BENCH_EMAIL_WARMUP ?? 300);

/**
 * Emails rendered and delivered per second through the send activity (template render, the
 * suppression and frequency-cap checks, the idempotency rows, SMTP) beside Nodemailer alone
 * sending the same pre-rendered message, to the same local SMTP server in the same run, at the
 * same concurrency. Both are warmed with the same number of sends (BENCH_EMAIL_WARMUP) before
 * either is measured: the send activity runs first, and with a handful of warm-up sends it was
 * measured while the JIT still compiled the mail code both share, which Nodemailer, measured
 * after it, then ran compiled. Database: a scratch PostgreSQL database (as in production) when
 * one is reachable, else embedded (BENCH_EMAIL_EMBEDDED=1 forces embedded).
 */
export async function runEmailBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drumbeat-email-bench-'));
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const smtpUrl = `smtp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
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
    const jobs = await seed(database.prisma, EMAILS + WARMUP);
    const warm = jobs.splice(0, WARMUP);
    await pool(warm, CONCURRENCY, (job) => sendEmail(deps, job));

    // The same message the activity sent (its html, text, subject, headers and a Message-ID),
    // pre-rendered, through a pooled Nodemailer transport.
    // (A cast: TypeScript cannot see the assignment made inside the recording mailer.)
    const message = lastSent as OutgoingEmail | null;
    if (!message) throw new Error('the warm-up sent nothing');
    const raw = nodemailer.createTransport(`${smtpUrl}?pool=true`);
    const send = (i: number) =>
      raw.sendMail({
        from: message.from,
        to: `raw${i}@example.com`,
        subject: message.subject,
        html: message.html,
        text: message.text,
        messageId: `<raw-${i}@drumbeat>`,
        headers: { ...message.headers },
      });
    await pool(
      Array.from({ length: WARMUP }, (_, i) => i),
      CONCURRENCY,
      send,
    );

    const before = received;
    const cpuActivity = process.cpuUsage();
    const startActivity = performance.now();
    await pool(jobs, CONCURRENCY, (job) => sendEmail(deps, job));
    const activitySeconds = (performance.now() - startActivity) / 1000;
    const activityCpu = cpuMicros(process.cpuUsage(cpuActivity)) / EMAILS;
    if (received - before !== EMAILS)
      throw new Error(`expected ${EMAILS} deliveries, got ${received - before}`);

    const cpuRaw = process.cpuUsage();
    const startRaw = performance.now();
    await pool(
      Array.from({ length: EMAILS }, (_, i) => i),
      CONCURRENCY,
      send,
    );
    const rawSeconds = (performance.now() - startRaw) / 1000;
    const rawCpu = cpuMicros(process.cpuUsage(cpuRaw)) / EMAILS;
    raw.close();

    const activityRate = EMAILS / activitySeconds;
    const rawRate = EMAILS / rawSeconds;
    console.log(
      `\nemail: ${EMAILS} emails, concurrency ${CONCURRENCY}, ${WARMUP} warm-up sends each, ${url ? 'PostgreSQL' : 'embedded database'}`,
    );
    console.log(
      `  message: ${message.html.length} chars of html, ${message.text.length} of text, ${Object.keys(message.headers ?? {}).length} extra headers`,
    );
    console.log(
      `  send activity (render + checks + SMTP)  ${activityRate.toFixed(0)} emails/s  (${activityCpu.toFixed(0)} µs of this process's CPU an email, SMTP server included)`,
    );
    console.log(
      `  Nodemailer, same message pre-rendered   ${rawRate.toFixed(0)} emails/s  (${rawCpu.toFixed(0)} µs)`,
    );
    console.log(
      `  ratio activity / raw                    ${ratio(activityRate, rawRate)} (target >= 0.7)`,
    );
  } finally {
    mailer.close();
    await database.close();
    await scratch?.drop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
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
