/**
 * Records workflow histories of representative journeys into tests/fixtures/histories/, for
 * the replay test that proves new workflow code still replays what running enrollments did.
 * Run after a deliberate, patched() change to the workflow: `npx tsx scripts/record-histories.ts`
 * (or name scenarios to record only those). Recorded files are never rewritten in place: a new
 * file per recording date (`.2`, `.3`, ... after the date for a second recording that day) keeps
 * old histories replaying too. An enrollment that continued as
 * new is recorded one file per run (`.run-1`, `.run-2`, ...).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../config/index.js';
import { startEngine } from '../runtime/engine.js';
import { findTemporalCli, freePort, startTemporalDevServer } from '../runtime/index.js';
import { planOf } from '../engine/index.js';
import { contactEventSignal, enrollmentWorkflowId, journeyWorkflowV6 } from '../workflows/index.js';

const OUT = new URL('../tests/fixtures/histories/', import.meta.url).pathname;
const STAMP = new Date().toISOString().slice(0, 10);

const scenarios: {
  name: string;
  journey: Record<string, unknown>;
  events: (user: string) => [string, number][];
  /**
   * Start the enrollment directly instead of through /v1/track (the API has no history limit
   * to lower), with this event delivered together with the start.
   */
  direct?: { readonly historyLimit: number; readonly eventWithStart: string };
}[] = [
  {
    name: 'welcome-series',
    journey: {
      id: 'rec-welcome',
      name: 'Welcome',
      triggers: [{ type: 'event', event: 'rec_signed_up' }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1S' },
        { id: 'tips', type: 'sendEmail', template: 'tips' },
      ],
    },
    events: () => [['rec_signed_up', 0]],
  },
  {
    name: 'wait-for-event-and-goal',
    journey: {
      id: 'rec-demo',
      name: 'Demo',
      triggers: [{ type: 'event', event: 'rec_invited' }],
      goals: [{ id: 'bought', type: 'event', event: 'rec_purchased' }],
      steps: [
        { id: 'invite', type: 'sendEmail', template: 'welcome' },
        {
          id: 'wait-booking',
          type: 'waitForEvent',
          event: 'rec_booked',
          timeout: 'PT30S',
          onTimeout: 'done',
        },
        {
          id: 'by-plan',
          type: 'branch',
          cases: [
            {
              name: 'pro',
              condition: { type: 'equals', field: 'contact.plan', value: 'pro' },
              next: 'pro',
            },
          ],
          else: 'wait-more',
        },
        { id: 'pro', type: 'sendEmail', template: 'tips', subject: 'Pro' },
        { id: 'wait-more', type: 'wait', duration: 'P1D' },
        { id: 'done', type: 'exit' },
      ],
    },
    events: () => [
      ['rec_invited', 0],
      ['rec_booked', 700],
      ['rec_purchased', 1500],
    ],
  },
  {
    // The confirmation arrives while `ask` sends, is carried to the wait, and the low history
    // limit makes the enrollment continue as new at that wait.
    name: 'continue-as-new-with-carried-event',
    journey: {
      id: 'rec-carry',
      name: 'Confirm',
      triggers: [{ type: 'event', event: 'rec_joined' }],
      steps: [
        { id: 'ask', type: 'sendEmail', template: 'welcome' },
        {
          id: 'wait-confirm',
          type: 'waitForEvent',
          event: 'rec_confirmed',
          timeout: 'PT3S',
          onTimeout: 'missed',
          next: 'thanks',
        },
        { id: 'missed', type: 'exit' },
        { id: 'thanks', type: 'sendEmail', template: 'tips', subject: 'Thanks' },
      ],
    },
    events: () => [],
    direct: { historyLimit: 1, eventWithStart: 'rec_confirmed' },
  },
];
const only = process.argv.slice(2);

const dir = await mkdtemp(join(tmpdir(), 'drumbeat-record-'));
const server = await startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: null });
const engine = await startEngine(
  loadConfig({ PORT: '0', SMTP_SINK_PORT: '0', DATA_DIR: dir, TEMPORAL_ADDRESS: server.address }),
);
try {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${engine.apiUrl ?? ''}${path}`, {
      method: 'POST',
      headers: { ...engine.apiHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { routing?: { enrollments: { enrollmentId: string | null }[] } };
  };
  for (const scenario of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
    await post('/v1/journeys', scenario.journey);
    const user = `rec-${scenario.name}`;
    await post('/v1/identify', {
      userId: user,
      traits: { email: `${user}@example.com`, firstName: 'Rec', plan: 'basic' },
    });
    let enrollmentId = '';
    let elapsed = 0;
    for (const [event, at] of scenario.events(user)) {
      await new Promise((resolve) => setTimeout(resolve, at - elapsed));
      elapsed = at;
      const result = await post('/v1/track', { userId: user, event });
      enrollmentId ||= result.routing?.enrollments[0]?.enrollmentId ?? '';
    }
    if (scenario.direct)
      enrollmentId = await startDirectly(user, scenario.journey, scenario.direct);
    await engine.deps.temporal.workflow.getHandle(enrollmentId).result();
    const runs = await historiesOf(enrollmentId);
    const base = await unusedName(scenario.name);
    for (const [i, history] of runs.entries()) {
      const run = runs.length > 1 ? `.run-${i + 1}` : '';
      const file = join(OUT, `${base}${run}.json`);
      await writeFile(file, history);
      console.log(`recorded ${file}`);
    }
  }

  /** `name.date`, or `name.date.2` and so on when that day already has a recording of it. */
  async function unusedName(name: string): Promise<string> {
    const files = await readdir(OUT);
    for (let n = 1; ; n++) {
      const base = n === 1 ? `${name}.${STAMP}` : `${name}.${STAMP}.${n}`;
      if (!files.some((f) => f === `${base}.json` || f.startsWith(`${base}.run-`))) return base;
    }
  }

  /** Every run of the enrollment, first to last, following continue-as-new backwards. */
  async function historiesOf(workflowId: string): Promise<string[]> {
    const runs: string[] = [];
    let runId: string | undefined;
    do {
      // The CLI writes the standard JSON history format (the SDK's own converter trips over a
      // duplicated protobufjs in node_modules).
      const { stdout } = await promisify(execFile)(
        findTemporalCli(),
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          ...(runId ? ['--run-id', runId] : []),
          '--address',
          server.address,
          '--output',
          'json',
        ],
        { maxBuffer: 64 << 20 },
      );
      runs.unshift(stdout);
      const started = (
        JSON.parse(stdout) as {
          events: {
            workflowExecutionStartedEventAttributes?: { continuedExecutionRunId?: string };
          }[];
        }
      ).events[0]?.workflowExecutionStartedEventAttributes;
      runId = started?.continuedExecutionRunId || undefined;
    } while (runId);
    return runs;
  }

  async function startDirectly(
    user: string,
    journey: Record<string, unknown>,
    direct: NonNullable<(typeof scenarios)[number]['direct']>,
  ): Promise<string> {
    const { prisma, temporal, taskQueue } = engine.deps;
    const contact = await prisma.contact.findFirstOrThrow({ where: { userId: user } });
    const version = await prisma.journeyVersion.findFirstOrThrow({
      where: { journey: { key: String(journey.id) } },
    });
    const workflowId = enrollmentWorkflowId(version.journeyId, contact.id, 'recorded');
    await prisma.enrollment.create({
      data: {
        id: workflowId,
        workspaceId: contact.workspaceId,
        journeyVersionId: version.id,
        contactId: contact.id,
        entryKey: 'recorded',
        status: 'pending',
      },
    });
    await temporal.workflow.signalWithStart(journeyWorkflowV6, {
      workflowId,
      taskQueue,
      args: [
        {
          workspaceId: contact.workspaceId,
          journeyVersionId: version.id,
          contactId: contact.id,
          plan: planOf(version),
          trigger: { eventId: null, name: null, properties: {} },
          historyLimit: direct.historyLimit,
        },
      ],
      signal: contactEventSignal,
      signalArgs: [
        { id: `rec-${direct.eventWithStart}`, name: direct.eventWithStart, properties: {} },
      ],
    });
    return workflowId;
  }
} finally {
  await engine.stop();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
