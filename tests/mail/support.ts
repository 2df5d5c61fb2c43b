import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { PrismaClient } from '@prisma/client';
import type { ActivityDeps } from '../../activities/index.js';
import { createMailer, type Mailer } from '../../mail/index.js';
import { newId } from '../../store/index.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { eventually, startTestEngine, type DatabaseVariant } from '../support/engine.js';
import type { ApiClient } from '../support/http.js';

/** A message as a real SMTP server in the test process received it. */
export interface Arrived {
  readonly to: string[];
  readonly parsed: ParsedMail;
  readonly raw: string;
}

export interface Capture {
  readonly url: string;
  readonly messages: Arrived[];
  to(address: string): Arrived[];
  waitFor(address: string, count?: number): Promise<Arrived[]>;
  stop(): Promise<void>;
}

/**
 * An SMTP server (smtp-server, read with mailparser). Recipients whose local part starts with
 * `reject` get a permanent 550 and `busy` a transient 451, like a real relay would answer.
 */
export async function startCapture(): Promise<Capture> {
  const messages: Arrived[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const local = address.address.split('@')[0] ?? '';
      if (local.startsWith('reject'))
        return callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      if (local.startsWith('busy'))
        return callback(Object.assign(new Error('4.2.1 Try later'), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              parsed,
              raw: raw.toString('utf8'),
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const to = (a: string) => messages.filter((m) => m.to.includes(a));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to,
    waitFor: (a, count = 1) =>
      eventually(
        () => (to(a).length >= count ? to(a) : null),
        10_000,
        `${count} message(s) to ${a}`,
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * For a suite: the real engine mailing through a capture of its own, started before its tests
 * and stopped after them. Read `engine` and `capture` inside the tests.
 */
export function engineWithCapture(variant: DatabaseVariant): {
  readonly engine: TestEngine;
  readonly capture: Capture;
} {
  let engine: TestEngine | undefined;
  let capture: Capture | undefined;
  beforeAll(async () => {
    capture = await startCapture();
    engine = await startTestEngine(variant, { SMTP_URL: capture.url });
  });
  afterAll(async () => {
    await engine?.cleanup();
    await capture?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The engine and its capture start in beforeAll.');
    return value;
  };
  return {
    get engine() {
      return started(engine);
    },
    get capture() {
      return started(capture);
    },
  };
}

type TestEngine = Awaited<ReturnType<typeof startTestEngine>>;

/**
 * The journey the relay-report suites run: send the offer, give the relay until the contact is
 * next seen (`site_visited_<suffix>`, or an hour), then branch on what became of the offer
 * (`emailActivity` cases, `otherwise` when none holds). Every outcome step tags the contact
 * and exits. Published in the workspace of `api`, triggered by `offer_<suffix>`.
 */
export async function publishOfferJourney(
  api: ApiClient,
  suffix: string,
  branch: {
    readonly cases: readonly { readonly activity: string; readonly next: string }[];
    readonly otherwise: string;
    /** Each outcome step and the tag it adds. */
    readonly outcomes: readonly { readonly id: string; readonly tag: string }[];
  },
): Promise<void> {
  const published = await api.post('/v1/journeys', {
    id: `offer-${suffix}`,
    name: 'Offer with follow-up',
    triggers: [{ type: 'event', event: `offer_${suffix}` }],
    steps: [
      { id: 'offer', type: 'sendEmail', template: 'welcome' },
      {
        id: 'until-back',
        type: 'waitForEvent',
        event: `site_visited_${suffix}`,
        timeout: 'PT1H',
        onTimeout: 'what-became',
        next: 'what-became',
      },
      {
        id: 'what-became',
        type: 'branch',
        cases: branch.cases.map(({ activity, next }) => ({
          name: activity,
          condition: { type: 'emailActivity', step: 'offer', activity },
          next,
        })),
        else: branch.otherwise,
      },
      ...branch.outcomes.map(({ id, tag }) => ({
        id,
        type: 'updateTags',
        add: [tag],
        next: 'done',
      })),
      { id: 'done', type: 'exit' },
    ],
  });
  expect(published.status, JSON.stringify(published.body)).toBe(201);
}

/** Identifies each contact with its address and triggers the offer journey for it. */
export async function enrollInOffer(
  api: ApiClient,
  suffix: string,
  people: readonly { readonly userId: string; readonly email: string }[],
): Promise<void> {
  for (const { userId, email } of people) {
    expect((await api.post('/v1/identify', { userId, traits: { email } })).status).toBe(200);
    expect((await api.post('/v1/track', { userId, event: `offer_${suffix}` })).status).toBe(200);
  }
}

/**
 * The contacts come back to the site, and each one's enrollment ends through the outcome
 * step given: offer, the wait, the branch, that step, exit.
 */
export async function expectOfferOutcomes(
  api: ApiClient,
  suffix: string,
  expected: readonly (readonly [{ readonly userId: string }, string])[],
): Promise<void> {
  const pathOf = async (userId: string) => {
    const contact = await api.get(`/v1/contacts/${userId}`);
    const [enrollment] = (contact.body as { enrollments: { id: string }[] }).enrollments;
    const res = await api.get(`/v1/enrollments/${encodeURIComponent(enrollment?.id ?? '')}`);
    const body = res.body as { endedAt: string | null; log: { kind: string; stepId: string }[] };
    return body.endedAt && body.log.filter((e) => e.kind === 'entered').map((e) => e.stepId);
  };
  for (const [{ userId }] of expected)
    expect((await api.post('/v1/track', { userId, event: `site_visited_${suffix}` })).status).toBe(
      200,
    );
  for (const [who, last] of expected)
    expect(
      await eventually(() => pathOf(who.userId), 20_000, `${who.userId}'s enrollment to end`),
    ).toEqual(['offer', 'until-back', 'what-became', last, 'done']);
}

export function activityDeps(
  engine: {
    deps: { prisma: PrismaClient; sql: ActivityDeps['sql']; templates: ActivityDeps['templates'] };
    apiUrl: string | null;
  },
  mailer: Mailer,
  secretKey = 'test-secret-key-that-is-long-enough-123',
): ActivityDeps {
  return {
    prisma: engine.deps.prisma,
    sql: engine.deps.sql,
    mailer,
    templates: engine.deps.templates,
    config: {
      mailFrom: 'Drumbeat Tests <tests@drumbeat.local>',
      secretKey,
      publicUrl: engine.apiUrl ?? '',
    },
  };
}

export { createMailer };

export interface Seeded {
  /** A workspace of its own, so policies set by one test never touch another's sends. */
  readonly workspaceId: string;
  readonly contactId: string;
  readonly journeyId: string;
  readonly versionId: string;
  enrollment(): Promise<string>;
}

/**
 * A contact and a journey version with an enrollment row, as the engine would have made them,
 * so activities can be called directly (side-effect rows reference the enrollment).
 */
export async function seed(
  prisma: PrismaClient,
  opts: {
    readonly email: string;
    readonly timezone?: string;
    readonly locale?: string;
    readonly attributes?: Record<string, string | number | boolean>;
    readonly priority?: 'low' | 'normal' | 'high';
    readonly rateLimit?: { count: number; perMs: number };
    readonly workspaceId?: string;
  },
): Promise<Seeded> {
  const suffix = newId();
  const workspaceId = opts.workspaceId ?? `ws-${suffix}`;
  if (!opts.workspaceId)
    await prisma.workspace.create({ data: { id: workspaceId, name: `Test ${suffix}` } });
  const contactId = newId();
  await prisma.contact.create({
    data: {
      id: contactId,
      workspaceId,
      userId: `user-${suffix}`,
      email: opts.email,
      emailKey: opts.email.toLowerCase(),
      attributes: { firstName: 'Ada', ...opts.attributes },
      timezone: opts.timezone ?? null,
      locale: opts.locale ?? null,
    },
  });
  const journeyId = newId();
  const versionId = newId();
  await prisma.journey.create({
    data: {
      id: journeyId,
      workspaceId,
      key: `j-${suffix}`,
      name: `Journey ${suffix}`,
      status: 'draft',
    },
  });
  await prisma.journeyVersion.create({
    data: {
      id: versionId,
      journeyId,
      version: 1,
      hash: suffix,
      definition: {},
      plan: {
        settings: {
          priority: opts.priority ?? 'normal',
          countsTowardFrequencyCap: true,
          rateLimit: opts.rateLimit ?? null,
        },
        triggers: [],
        suppression: [],
      },
    },
  });
  return {
    workspaceId,
    contactId,
    journeyId,
    versionId,
    async enrollment() {
      const id = `enr-${newId()}`;
      await prisma.enrollment.create({
        data: {
          id,
          workspaceId,
          journeyVersionId: versionId,
          contactId,
          entryKey: 'once',
          status: 'active',
        },
      });
      return id;
    },
  };
}
