import { Type, type Static } from '@sinclair/typebox';
import { Router } from 'express';
import {
  compileJourney,
  journeyJsonSchema,
  scoringModelJsonSchema,
  validateJourney,
} from '../definitions/index.js';
import {
  isTimeZone,
  simulate,
  type Plan,
  type SimContact,
  type SimEvent,
  type SimulationResult,
} from '../core/index.js';
import { backtestJourney } from '../engine/backtest.js';
import { BacktestSchema, SimulateSchema } from './schemas/simulate.schema.js';
import { bodyValidator } from './validate-body.js';
import {
  explainEligibility,
  listAudienceRuns,
  publishDraft,
  changeJourneyStatus,
  publishJourney,
  readStoredPlan,
  readVersionPlan,
  templateExistence,
  attributeContext,
  type EngineDeps,
  type StoredPlan,
  type UnreadableVersion,
  type JourneyCommand,
  enrollByHand,
  type HandEnrollment,
} from '../engine/index.js';
import { stateQuery } from '../workflows/index.js';
import { HttpProblem, PROBLEM_BASE } from './problem.js';
import { choiceParam, flagParam, jsonObjectParam, textParam } from './query-params.js';
import { timePageOf } from './paging.js';
import { encodeTimelineCursor } from '../engine/contacts/timeline.js';
import { invalidInput, notFound } from './problem.js';
import { workspaceOf } from './workspace.js';

/** Journey definitions: validate, publish (a new immutable version when changed), read. */
const readSimulation = bodyValidator(SimulateSchema);
const readHandEnrollment = bodyValidator(
  Type.Object(
    {
      contact: Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'The contact to enroll: its id or its userId.',
      }),
      properties: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), {
          description: 'What the journey reads as the trigger event’s properties.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

/** Why entry rules keep a contact out, in a marketer's words. */
const ENTRY_REFUSALS: Record<Extract<HandEnrollment, { kind: 'refused' }>['reason'], string> = {
  'already-enrolled': 'The contact is in this journey now, or was, and it is entered once.',
  'cooling-down': 'The contact entered recently; the journey’s cool-down has not passed.',
  'max-entries': 'The contact has entered this journey as often as it allows.',
  'condition-not-met': 'The contact does not meet the journey’s entry condition.',
  'missing-entry-key': 'The contact has no value for the journey’s entry key.',
};
const readBacktest = bodyValidator(BacktestSchema);

/**
 * What is wrong with the version events would start (the latest published one), for
 * GET /v1/journeys/:key: null when its stored plan reads, else why routing leaves it out.
 */
function planProblem(version: { version: number; read: StoredPlan } | undefined) {
  if (!version || version.read.ok) return null;
  return {
    code: 'unreadable-plan',
    version: version.version,
    detail: `${unreadable(version.version, version.read.detail)}, so no event starts it: publish the journey again.`,
  };
}

/** The start of every sentence about a stored version this Drumbeat cannot read. */
function unreadable(version: number, detail: string): string {
  return `Version ${version} of this journey was saved in a form this Drumbeat cannot read (${detail})`;
}

/** A 409 for a request that needs a plan this Drumbeat cannot read; `then` says what to do. */
function unreadablePlan(version: UnreadableVersion, then: string): HttpProblem {
  return new HttpProblem(
    409,
    `${PROBLEM_BASE}unreadable-plan`,
    'Journey cannot be read',
    `${unreadable(version.version, version.detail)}: ${then}`,
  );
}

/**
 * What the preview schema cannot say about its contacts and events, each at its pointer: a time
 * zone that does not exist (it would run in the fallback zone), a contact given twice, an event
 * of a contact not in `contacts` (it would be dropped), and times before the preview starts.
 */
function simulationProblems(
  body: Static<typeof SimulateSchema>,
  start: number,
): { pointer: string; code: string; message: string }[] {
  const problems: { pointer: string; code: string; message: string }[] = [];
  const ids = new Set<string>();
  body.contacts.forEach((c, i) => {
    if (ids.has(c.id))
      problems.push({
        pointer: `/contacts/${i}/id`,
        code: 'duplicate-contact',
        message: `The contact \`${c.id}\` is given twice.`,
      });
    ids.add(c.id);
    if (c.timezone !== undefined && !isTimeZone(c.timezone))
      problems.push({
        pointer: `/contacts/${i}/timezone`,
        code: 'invalid-timezone',
        message: `\`${c.timezone}\` is not a time zone; use an IANA name such as Europe/Paris.`,
      });
    if (c.enrollAt !== undefined && Date.parse(c.enrollAt) < start)
      problems.push({
        pointer: `/contacts/${i}/enrollAt`,
        code: 'before-start',
        message: 'A contact cannot be enrolled before the preview starts.',
      });
  });
  (body.timeline ?? []).forEach((e, i) => {
    if (!ids.has(e.contactId))
      problems.push({
        pointer: `/timeline/${i}/contactId`,
        code: 'unknown-contact',
        message: `The contact \`${e.contactId}\` is not among the preview’s contacts.`,
      });
    if (Date.parse(e.at) < start)
      problems.push({
        pointer: `/timeline/${i}/at`,
        code: 'before-start',
        message: 'This event happens before the preview starts; move `start` earlier.',
      });
  });
  return problems;
}

export function journeysRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.get('/v1/schemas/journey.json', (_req, res) => {
    res.type('application/schema+json').json(journeyJsonSchema());
  });

  router.post('/v1/journeys/validate', async (req, res) => {
    const result = validateJourney(req.body, {
      templateExists: await templateExistence(engine, workspaceOf(req)),
      ...(await attributeContext(engine, workspaceOf(req))),
    });
    if (!result.ok)
      throw invalidInput(
        'The journey definition has problems; nothing was stored.',
        result.problems,
      );
    res.json({ valid: true, plan: compileJourney(result.value) });
  });

  router.get('/v1/schemas/scoring-model.json', (_req, res) => {
    res.type('application/schema+json').json(scoringModelJsonSchema());
  });

  /** `?draft=true` saves a new version without publishing it (see POST /v1/journeys/:key/publish). */
  router.post('/v1/journeys', async (req, res) => {
    const draft = flagParam(req.query, 'draft');
    const result = await publishJourney(engine, workspaceOf(req), req.body, { draft });
    if (!result.ok)
      throw invalidInput(
        'The journey definition has problems; nothing was stored.',
        result.problems,
      );
    res.status(result.created ? 201 : 200).json({
      id: result.journey.key,
      name: result.journey.name,
      status: result.journey.status,
      version: result.version.version,
      hash: result.version.hash,
      created: result.created,
    });
  });

  router.get('/v1/journeys', async (req, res) => {
    const journeys = await prisma.journey.findMany({
      where: { workspaceId: workspaceOf(req) },
      include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
      orderBy: { createdAt: 'asc' },
    });
    res.json({
      data: journeys.map((j) => ({
        id: j.key,
        name: j.name,
        status: j.status,
        version: j.versions[0]?.version ?? null,
      })),
    });
  });

  router.get('/v1/journeys/:key', async (req, res) => {
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
      include: { versions: { orderBy: { version: 'desc' } } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    const counts = await prisma.enrollment.groupBy({
      by: ['journeyVersionId', 'status'],
      where: { journeyVersionId: { in: journey.versions.map((v) => v.id) } },
      _count: { _all: true },
    });
    const versions = journey.versions.map((v) => ({ ...v, read: readStoredPlan(v.plan) }));
    res.json({
      id: journey.key,
      name: journey.name,
      status: journey.status,
      problem: planProblem(versions.find((v) => v.publishedAt !== null)),
      versions: versions.map((v) => ({
        version: v.version,
        hash: v.hash,
        publishedAt: v.publishedAt,
        readable: v.read.ok,
        enrollments: Object.fromEntries(
          counts.filter((c) => c.journeyVersionId === v.id).map((c) => [c.status, c._count._all]),
        ),
      })),
      definition: journey.versions[0]?.definition ?? null,
    });
  });

  // A contact enrolled by hand (a `manual` trigger's journey, or any active one), under the
  // journey's entry rules.
  router.post('/v1/journeys/:key/enrollments', async (req, res) => {
    const body = readHandEnrollment(req.body);
    const result = await enrollByHand(
      engine,
      workspaceOf(req),
      req.params.key,
      body.contact,
      body.properties ?? {},
    );
    switch (result.kind) {
      case 'enrolled':
        res.status(201).json({ enrolled: true, enrollmentId: result.enrollmentId });
        return;
      case 'journey-not-found':
        throw notFound(`Journey \`${req.params.key}\``);
      case 'contact-not-found':
        throw invalidInput('The contact does not exist.', [
          {
            pointer: '/contact',
            code: 'unknown-contact',
            message: `There is no contact \`${body.contact}\` in this workspace (by id or userId).`,
          },
        ]);
      case 'journey-not-active':
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}journey-not-active`,
          'Journey not active',
          `This journey is ${result.status}: nobody enters it until it is published and active.`,
        );
      case 'unreadable':
        throw unreadablePlan(result.unreadable, 'publish it again, then enroll.');
      case 'refused':
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}not-enrolled`,
          'Not enrolled',
          `The journey's entry rules keep this contact out now (${result.reason})${result.enrollmentId ? `; it is in enrollment ${result.enrollmentId}` : ''}.`,
          [{ pointer: '/contact', code: result.reason, detail: ENTRY_REFUSALS[result.reason] }],
        );
    }
  });

  /**
   * The journey's enrollments, oldest first, paged (`?limit=`, `?cursor=`), and filtered by
   * `?status=` and `?step=` (the step each is at now) when given.
   */
  router.get('/v1/journeys/:key/enrollments', async (req, res) => {
    const status = choiceParam(req.query, 'status', ENROLLMENT_STATUSES);
    const step = textParam(req.query, 'step');
    const { limit, cursor } = timePageOf(req.query.limit, req.query.cursor);
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    const rows = await prisma.enrollment.findMany({
      where: {
        journeyVersion: { journeyId: journey.id },
        ...(status === null ? {} : { status }),
        ...(step === null ? {} : { currentStep: step }),
        ...(cursor
          ? {
              OR: [
                { startedAt: { gt: cursor.at } },
                { startedAt: cursor.at, id: { gt: cursor.id } },
              ],
            }
          : {}),
      },
      include: {
        journeyVersion: { select: { version: true } },
        contact: { select: { userId: true, email: true } },
      },
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    res.json({
      data: page.map((e) => ({
        id: e.id,
        version: e.journeyVersion.version,
        contact: { id: e.contactId, userId: e.contact.userId, email: e.contact.email },
        status: e.status,
        currentStep: e.currentStep,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
      })),
      nextCursor:
        rows.length > limit && last
          ? encodeTimelineCursor({ at: last.startedAt, id: last.id })
          : null,
    });
  });

  for (const command of [
    'pause',
    'resume',
    'archive',
  ] as const satisfies readonly JourneyCommand[]) {
    router.post(`/v1/journeys/:key/${command}`, async (req, res) => {
      const result = await changeJourneyStatus(engine, workspaceOf(req), req.params.key, command);
      if (!result.ok && result.reason === 'not-found')
        throw notFound(`Journey \`${req.params.key}\``);
      if (!result.ok && result.reason === 'unreadable')
        throw unreadablePlan(result.unreadable, 'publish it again, then resume it.');
      if (!result.ok) {
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}journey-archived`,
          'Journey archived',
          'An archived journey cannot be paused or resumed; publish it again to bring it back.',
        );
      }
      res.json({
        id: req.params.key,
        status: result.status,
        enrollmentsTold: result.enrollmentsTold,
      });
    });
  }

  /**
   * One enrollment: its stored status, its full log, the emails it held back (quiet hours,
   * frequency cap) with the reason and the planned send time, and the workflow's live state.
   */
  router.get('/v1/enrollments/:id', async (req, res) => {
    const id = req.params.id;
    const workspaceId = workspaceOf(req);
    const enrollment = await prisma.enrollment.findFirst({
      where: { id, workspaceId },
      include: {
        log: { orderBy: { seq: 'asc' } },
        journeyVersion: { select: { version: true, journey: { select: { key: true } } } },
      },
    });
    if (!enrollment) throw notFound(`Enrollment \`${id}\``);
    const deferrals = await prisma.sendDeferral.findMany({
      where: { enrollmentId: id, workspaceId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    const live = ['active', 'pending'].includes(enrollment.status)
      ? await engine.temporal.workflow
          .getHandle(id)
          .query(stateQuery)
          .catch(() => null)
      : null;
    res.json({
      id: enrollment.id,
      journey: enrollment.journeyVersion.journey.key,
      version: enrollment.journeyVersion.version,
      contactId: enrollment.contactId,
      entryKey: enrollment.entryKey,
      status: enrollment.status,
      currentStep: enrollment.currentStep,
      startedAt: enrollment.startedAt,
      endedAt: enrollment.endedAt,
      live: live && {
        status: live.state.status,
        stepId: live.state.stepId,
        wakeAt: live.state.wakeAt,
        deadline: live.state.deadline,
        paused: live.paused,
      },
      log: enrollment.log.map((e) => ({
        seq: e.seq,
        at: e.at,
        kind: e.kind,
        stepId: e.stepId,
        detail: e.detail,
      })),
      // `resolvedAt` null: still held; else when the hold ended (sent, or not sent at all).
      deferrals: deferrals.map((d) => ({
        stepId: d.stepId,
        reason: d.reason,
        at: d.createdAt,
        until: d.until,
        resolvedAt: d.resolvedAt,
      })),
    });
  });

  /** Per-step counts for a journey: how many enrollments entered each step, and outcomes. */
  router.get('/v1/journeys/:key/stats', async (req, res) => {
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
      include: { versions: { select: { id: true, version: true } } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    const versions = [];
    for (const v of journey.versions) {
      const entered = await prisma.enrollmentLogEntry.groupBy({
        by: ['stepId'],
        where: { kind: 'entered', enrollment: { journeyVersionId: v.id } },
        _count: { _all: true },
      });
      const outcomes = await prisma.enrollment.groupBy({
        by: ['status'],
        where: { journeyVersionId: v.id },
        _count: { _all: true },
      });
      const byStatus = Object.fromEntries(outcomes.map((o) => [o.status, o._count._all]));
      const total = outcomes.reduce((sum, o) => sum + o._count._all, 0);
      versions.push({
        version: v.version,
        enrollments: total,
        byStatus,
        conversions: byStatus.converted ?? 0,
        conversionRate: total === 0 ? 0 : (byStatus.converted ?? 0) / total,
        steps: Object.fromEntries(entered.map((e) => [e.stepId ?? '', e._count._all])),
      });
    }
    res.json({ id: journey.key, versions: versions.sort((a, b) => a.version - b.version) });
  });

  /**
   * Why is (or isn't) this contact in this journey? `?event=name` (with `?properties=` a JSON
   * object, for trigger filters and entry keys) asks about entry by that event.
   */
  router.get('/v1/journeys/:key/eligibility/:contact', async (req, res) => {
    // `?event=` left empty asks about no event, as before the parameter was read strictly.
    const name = req.query.event === '' ? null : textParam(req.query, 'event');
    const properties = jsonObjectParam(req.query, 'properties');
    if (properties && name === null)
      throw invalidInput('`properties` describe an event: name it with `event` too.', [
        {
          pointer: '/event',
          code: 'required',
          message: 'Give `event` with `properties`.',
        },
      ]);
    const event = name === null ? null : { name, properties: properties ?? {} };
    const result = await explainEligibility(
      engine,
      workspaceOf(req),
      req.params.key,
      req.params.contact,
      event,
    );
    if (!result.found && result.what === 'plan')
      throw unreadablePlan(result.unreadable, 'publish it again to check who can enter it.');
    if (!result.found)
      throw notFound(
        result.what === 'journey'
          ? `Journey \`${req.params.key}\``
          : `Contact \`${req.params.contact}\``,
      );
    res.json({
      journey: req.params.key,
      contact: req.params.contact,
      journeyStatus: result.journeyStatus,
      wouldEnroll: result.journeyStatus === 'active' && result.decision.enroll,
      reason: result.decision.enroll ? null : result.decision.reason,
      explanation: result.explanation,
      enrollments: result.enrollments,
    });
  });

  /**
   * Passes over the audience (enroll existing on publish, schedules, date triggers) with
   * progress; a failed or cancelled run says why in `failure`.
   */
  router.get('/v1/journeys/:key/audience-runs', async (req, res) => {
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    res.json({ data: await listAudienceRuns(engine, journey.id) });
  });

  router.post('/v1/journeys/:key/publish', async (req, res) => {
    const result = await publishDraft(engine, workspaceOf(req), req.params.key);
    if (!result.ok && result.reason === 'not-found')
      throw notFound(`Journey \`${req.params.key}\``);
    if (!result.ok && result.reason === 'invalid')
      throw invalidInput('The draft has problems now; nothing was published.', result.problems);
    if (!result.ok) {
      throw new HttpProblem(
        409,
        `${PROBLEM_BASE}no-draft`,
        'Nothing to publish',
        'This journey has no unpublished draft: save one with POST /v1/journeys?draft=true.',
      );
    }
    res.json({
      id: result.journey.key,
      status: result.journey.status,
      version: result.version.version,
      hash: result.version.hash,
    });
  });

  /**
   * Preview a journey before publishing it: the same interpreter, on a virtual clock, over the
   * given contacts and timeline. Weeks of waits take milliseconds; nothing is sent or stored.
   */
  router.post('/v1/journeys/simulate', async (req, res) => {
    const body = readSimulation(req.body);
    oneJourney(body, 'Preview');
    // Without a `start`, the preview starts now, or at the earliest time it is given.
    const start = body.start
      ? Date.parse(body.start)
      : [
          ...body.contacts.flatMap((c) => (c.enrollAt ? [Date.parse(c.enrollAt)] : [])),
          ...(body.timeline ?? []).map((e) => Date.parse(e.at)),
        ].reduce((earliest, at) => Math.min(earliest, at), Date.now());
    const end = body.end ? Date.parse(body.end) : start + 90 * 86_400_000;
    if (end <= start)
      throw invalidInput('The preview ends before it starts.', [
        { pointer: '/end', code: 'before-start', message: '`end` must be after `start`.' },
      ]);
    const previewProblems = simulationProblems(body, start);
    if (previewProblems.length > 0)
      throw invalidInput(
        'Some of the preview’s contacts or events cannot be run.',
        previewProblems,
      );
    const plan = await planToSimulate(body, workspaceOf(req));
    const contacts: SimContact[] = body.contacts.map(({ enrollAt, ...c }) => ({
      ...c,
      ...(enrollAt ? { enrollAt: Date.parse(enrollAt) } : {}),
    }));
    const timeline: SimEvent[] = (body.timeline ?? []).map((e) => ({ ...e, at: Date.parse(e.at) }));
    // Every action is in the answer: a smaller budget than the simulator's own keeps it small.
    const result = simulate({ plan, contacts, timeline, start, end, maxSteps: PREVIEW_MAX_STEPS });
    res.json({
      journey: plan.journeyKey,
      hash: plan.hash,
      enrollments: result.enrollments.map((e) => ({
        contactId: e.contactId,
        entryKey: e.entryKey,
        startedAt: iso(e.startedAt),
        outcome: e.outcome,
        reason: e.reason,
        endedAt: iso(e.endedAt),
        path: e.path.map((p) => ({ stepId: p.stepId, at: iso(p.at) })),
      })),
      actions: result.actions.map((a) => ({
        at: iso(a.at),
        contactId: a.contactId,
        stepId: a.stepId,
        iteration: a.iteration,
        action: a.action,
      })),
      refused: result.refused.map((r) => ({ ...r, at: iso(r.at) })),
      // Set when the preview took more steps than one request may (a short wait in a loop over
      // a long window): what is shown happened before this virtual time.
      stoppedAt: iso(result.stoppedAt),
    });
  });

  /**
   * Backtest a journey before publishing it: the simulator over what contacts really did in a
   * past window (engine/backtest.ts). Who would have entered, what they would have been sent,
   * who met a goal or left by an exit; nothing is sent or stored.
   */
  router.post('/v1/journeys/backtest', async (req, res) => {
    const body = readBacktest(req.body);
    oneJourney(body, 'Backtest');
    const plan = await planToSimulate(body, workspaceOf(req));
    const from = Date.parse(body.from);
    // What is still to come has not happened: the window ends now at the latest.
    const now = Date.now();
    const to = Math.min(body.to ? Date.parse(body.to) : now, now);
    if (to <= from)
      throw invalidInput('The backtest window ends before it starts.', [
        {
          pointer: body.to ? '/to' : '/from',
          code: 'before-from',
          message: body.to
            ? '`to` must be after `from`.'
            : '`from` must be in the past: a backtest replays what has happened.',
        },
      ]);
    const { result, replayed, end, failures, suppressed, userIds } = await backtestJourney(engine, {
      workspaceId: workspaceOf(req),
      plan,
      from,
      to,
      maxContacts: body.maxContacts ?? 2_000,
      maxEvents: BACKTEST_MAX_EVENTS,
    });
    res.json({
      journey: plan.journeyKey,
      hash: plan.hash,
      from: iso(from),
      to: iso(end),
      stoppedAt: iso(result.stoppedAt),
      replayed,
      warnings: notReplayed(plan),
      ...backtestSummary(plan, result, failures, suppressed),
      enrollments: result.enrollments.slice(0, BACKTEST_SAMPLE).map((e) => ({
        contactId: e.contactId,
        userId: userIds.get(e.contactId) ?? null,
        startedAt: iso(e.startedAt),
        outcome: e.outcome,
        reason: e.reason,
        endedAt: iso(e.endedAt),
        path: e.path.map((p) => ({ stepId: p.stepId, at: iso(p.at) })),
      })),
    });
  });

  /** A preview or a backtest runs one journey: a definition or a stored one's key, not both. */
  function oneJourney(
    body: { readonly journey?: unknown; readonly key?: string },
    what: 'Preview' | 'Backtest',
  ): void {
    if (body.journey !== undefined && body.key !== undefined)
      throw invalidInput(`${what} one journey: a definition or the key of a stored one.`, [
        {
          pointer: '/key',
          code: 'journey-and-key',
          message: 'Give `journey` or `key`, not both.',
        },
      ]);
  }

  async function planToSimulate(
    body: { readonly journey?: unknown; readonly key?: string },
    workspaceId: string,
  ) {
    if (body.journey !== undefined) {
      const validated = validateJourney(body.journey, {
        templateExists: await templateExistence(engine, workspaceId),
        ...(await attributeContext(engine, workspaceId)),
      });
      if (!validated.ok) {
        throw invalidInput(
          'The journey definition has problems.',
          validated.problems.map((p) => ({ ...p, pointer: `/journey${p.pointer}` })),
        );
      }
      return compileJourney(validated.value);
    }
    if (body.key === undefined) {
      throw invalidInput('Say which journey to preview.', [
        {
          pointer: '/journey',
          code: 'required',
          message: 'Give a journey definition in `journey`, or a stored journey’s id in `key`.',
        },
      ]);
    }
    const version = await prisma.journeyVersion.findFirst({
      where: { journey: { workspaceId, key: body.key } },
      orderBy: { version: 'desc' },
    });
    if (!version) throw notFound(`Journey \`${body.key}\``);
    const read = readVersionPlan(version);
    if (!read.ok) throw unreadablePlan(read.unreadable, 'publish it again to preview it.');
    return read.plan;
  }

  return router;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Triggers a backtest cannot replay from stored events (dates, schedules, manual and API
 * enrollments): said in the answer, so a journey started only by them is not read as one that
 * would have enrolled no one.
 */
function notReplayed(plan: Plan): string[] {
  const kinds = new Set(plan.triggers.map((t) => t.type));
  const said = {
    date: 'Date triggers are not replayed: the backtest does not know whose dates fell in the window.',
    schedule: 'Schedule triggers are not replayed.',
    manual: 'Manual and API enrollments are not replayed.',
  } as const;
  return (Object.keys(said) as (keyof typeof said)[]).flatMap((k) =>
    kinds.has(k) ? [said[k]] : [],
  );
}

/** Steps a preview through the API takes at most (it answers with every action). */
const PREVIEW_MAX_STEPS = 200_000;

/** Events a backtest replays at most; a longer window is cut (and says so). */
const BACKTEST_MAX_EVENTS = 200_000;
/** Enrollments a backtest answer lists in full. */
const BACKTEST_SAMPLE = 100;

/**
 * What a backtest comes to: entries, outcomes, refusals, actions (tried; `failed` those that
 * would have failed live, by reason; `suppressed` the emails held back for a suppressed
 * address), and per step the entries, the contacts that entered it and its actions.
 */
function backtestSummary(
  plan: Plan,
  result: SimulationResult,
  failures: readonly { readonly stepId: string; readonly reason: string }[],
  suppressed: readonly { readonly stepId: string }[],
) {
  const count = <K extends string>(keys: readonly K[]) => {
    const counts: Record<string, number> = {};
    for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  };
  const entered = count(result.enrollments.flatMap((e) => e.path.map((p) => p.stepId)));
  const contacts = new Map<string, Set<string>>();
  for (const e of result.enrollments)
    for (const p of e.path)
      contacts.set(p.stepId, (contacts.get(p.stepId) ?? new Set()).add(e.contactId));
  const acted = count(result.actions.map((a) => a.stepId));
  const failed = count(failures.map((f) => f.stepId));
  const held = count(suppressed.map((f) => f.stepId));
  return {
    summary: {
      enrollments: result.enrollments.length,
      contacts: new Set(result.enrollments.map((e) => e.contactId)).size,
      outcomes: count(result.enrollments.map((e) => e.outcome ?? 'running')),
      refused: count(result.refused.map((r) => r.reason)),
      actions: count(result.actions.map((a) => a.action.type)),
      failed: count(failures.map((f) => f.reason)),
      suppressed: suppressed.length,
    },
    steps: Object.keys(plan.steps).map((id) => ({
      id,
      entered: entered[id] ?? 0,
      contacts: contacts.get(id)?.size ?? 0,
      actions: acted[id] ?? 0,
      failed: failed[id] ?? 0,
      suppressed: held[id] ?? 0,
    })),
  };
}

/** What `?status=` takes: the statuses an enrollment is stored with (`pending`: not started yet). */
const ENROLLMENT_STATUSES = [
  'pending',
  'active',
  'completed',
  'converted',
  'exited',
  'failed',
] as const;
